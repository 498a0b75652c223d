#!/usr/bin/python3
"""A quick measure until bench/ has its C load generator (issue 6).

Opens N client sessions to a running palabred exactly as a client does
(STARTTLS, SASL PLAIN, bind, initial presence), reports the logins per
second, then holds them and reports the resident memory of the c2s and sm
processes per session (/proc/PID/status VmRSS, before and after).

usage: quick_sessions.py HOST PORT DOMAIN PASSWORD N PALABRED_PID
Accounts user0..user{N-1} must exist with PASSWORD.
"""
import asyncio
import base64
import os
import ssl
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def components(supervisor_pid):
    found = {}
    for task in os.listdir(f"/proc/{supervisor_pid}/task"):
        with open(f"/proc/{supervisor_pid}/task/{task}/children") as f:
            for child in f.read().split():
                with open(f"/proc/{child}/cmdline", "rb") as c:
                    args = c.read().split(b"\0")
                if b"--component" in args:
                    found[args[args.index(b"--component") + 1].decode()] = int(child)
    return found


async def expect(reader, marker):
    data = b""
    while marker not in data:
        chunk = await reader.read(65536)
        if not chunk:
            raise ConnectionError(f"closed while waiting for {marker!r}: {data[-200:]!r}")
        data += chunk
    return data


async def login(host, port, domain, user, password, ctx):
    reader, writer = await asyncio.open_connection(host, port)
    header = (f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' "
              "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
    writer.write(header.encode())
    await expect(reader, b"</stream:features>")
    writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await expect(reader, b"<proceed")
    await writer.start_tls(ctx, server_hostname=domain)
    writer.write(header.encode())
    await expect(reader, b"</stream:features>")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    writer.write(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>".encode())
    await expect(reader, b"<success")
    writer.write(header.encode())
    await expect(reader, b"</stream:features>")
    writer.write(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    await expect(reader, b"</iq>")
    writer.write(b"<presence/>")
    return reader, writer


async def main():
    host, port, domain, password, n, pid = sys.argv[1:7]
    n, pid = int(n), int(pid)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    procs = components(pid)
    before = {name: rss_kib(p) for name, p in procs.items()}
    sem = asyncio.Semaphore(int(os.environ.get("CONCURRENCY", "50")))

    async def one(i):
        async with sem:
            return await login(host, int(port), domain, f"user{i}", password, ctx)

    start = time.monotonic()
    sessions = await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.monotonic() - start
    await asyncio.sleep(12)  # c2s releases idle parsers every 5 s
    after = {name: rss_kib(p) for name, p in procs.items()}
    print(f"{n} logins (STARTTLS + PLAIN + bind + presence, 50 at a time) in {elapsed:.2f} s: "
          f"{n / elapsed:.0f} logins/s (client-bound: this Python client uses most of a core)")
    for name in sorted(procs):
        grown = after[name] - before[name]
        print(f"{name}: RSS {before[name]} KiB -> {after[name]} KiB, "
              f"{grown * 1024 / n / 1024:.2f} KiB per idle session")
    await asyncio.sleep(float(os.environ.get("HOLD", "0")))
    for _, writer in sessions:
        writer.close()


asyncio.run(main())
