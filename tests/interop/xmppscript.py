"""Scripted XMPP exchanges: send this stanza, expect that one.

A script (tests/interop/scripts/*.scs, run by test_scripts.py) reads
like the examples of the XEP it tests; its form is that of Prosody's
scansion scripts, and tests/interop/scripts/README.md explains it:

    # Roster get: a new user's roster is empty

    [Client] Romeo
        jid: romeo@localhost

    -----

    Romeo connects

    Romeo sends:
        <iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>

    Romeo receives:
        <iq type='result' id='r1' to="${Romeo's full JID}">
            <query xmlns='jabber:iq:roster' ver='{scansion:any}'/>
        </iq>

Each [Client] logs in over a raw stream (STARTTLS, SASL PLAIN, resource
binding; no presence, no roster) as an account the runner makes for
the script alone: romeo@localhost becomes romeo-PID-N@localhost, which
the script names ${Romeo's JID} (and ${Romeo's full JID} once bound).

A stanza received matches the one expected when it has the same name,
every attribute written with the same value and, for every child
written, a child of its own that matches it (in any order); what the
script does not write is not checked, unless scansion:strict='true'
asks for exactly those attributes and children. {scansion:any} stands
for any value; {capture:NAME} takes the value into ${NAME}. Several
stanzas under one "receives:" may come in any order; one after another
"receives:" must come in that order.
"""
import glob
import os
import re
import time
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import im
from rawstream import RawStream

SCANSION = "https://matthewwild.co.uk/projects/scansion"
STRICT = "{%s}strict" % SCANSION
ANY = "{scansion:any}"
CAPTURE = re.compile(r"^\{capture:([^{}]+)\}$")
VARIABLE = re.compile(r"\$\{([^{}]+)\}")
CLIENT_VARIABLE = re.compile(r"^(.+)'s (full JID|JID)$")
ACTION = re.compile(r"^(.+?) (connects|disconnects|sends:|receives:|"
                    r"receives nothing)$")
SEPARATOR = re.compile(r"^-{3,}$")

STREAMS = "http://etherx.jabber.org/streams"
# Wraps the XML of a step: the stanzas of a client stream are in
# jabber:client (RFC 6120 §4.8.3); scansion: and stream: (for a
# <stream:error/>) need no declaration.
WRAPPER = ("<script xmlns='jabber:client' xmlns:scansion='%s' "
           "xmlns:stream='%s'>%%s</script>" % (SCANSION, STREAMS))

STEP_TIMEOUT = 5.0
# "receives nothing": after a ping round trip, the server may still be
# writing to disk before it sends what follows (im.SETTLE).
SETTLE = 0.25
CLIENT_KEYS = ("jid", "resource")


class ScriptError(Exception):
    """The script itself is wrong (FILE:LINE: what)."""


class ScriptFailure(AssertionError):
    """The server did not do what the script says."""


class Mismatch(Exception):
    """Why a stanza received is not the one expected."""


@dataclass
class Client:
    name: str
    line: int
    jid: str = None
    resource: str = None


@dataclass
class Step:
    line: int
    client: str
    action: str
    xml: str = ""  # the lines after the action's, from line + 1


@dataclass
class Script:
    name: str
    title: str
    clients: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return parse(f.read(), os.path.basename(path))


# ---- reading a script -------------------------------------------------------

def parse(text, name):
    """A Script from its text; ScriptError names the line that is wrong."""
    lines = text.split("\n")
    script = Script(name, title_of(lines))
    body = parse_header(script, lines)
    parse_body(script, lines, body)
    check_script(script)
    return script


def title_of(lines):
    for line in lines:
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def parse_header(script, lines):
    """Reads the [Client] sections up to the line of dashes; returns the
    index of the first line of the body."""
    client = None
    for i, line in enumerate(lines):
        where = "%s:%d" % (script.name, i + 1)
        stripped = line.strip()
        if SEPARATOR.match(stripped):
            return i + 1
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[Client] "):
            client = Client(stripped[len("[Client] "):].strip(), i + 1)
            if client.name in script.clients:
                raise ScriptError("%s: client %s is declared twice"
                                  % (where, client.name))
            script.clients[client.name] = client
        elif client is not None and line[0].isspace() and ":" in stripped:
            key, value = (s.strip() for s in stripped.split(":", 1))
            if key not in CLIENT_KEYS:
                raise ScriptError("%s: unknown client setting %r (known: %s)"
                                  % (where, key, ", ".join(CLIENT_KEYS)))
            setattr(client, key, value)
        else:
            raise ScriptError("%s: expected [Client] NAME, an indented "
                              "'key: value' or a line of dashes, got %r"
                              % (where, stripped))
    raise ScriptError("%s: no line of dashes ('-----') after the clients"
                      % script.name)


def parse_body(script, lines, start):
    step = None
    for i in range(start, len(lines)):
        line = lines[i]
        if step is not None and (not line.strip() or line[0].isspace()):
            step.xml += line + "\n"
            continue
        step = None
        if not line.strip() or line.startswith("#"):
            continue
        step = parse_action(script, line, i + 1)
        script.steps.append(step)
        if not step.action.endswith(":"):
            step = None


def parse_action(script, line, number):
    where = "%s:%d" % (script.name, number)
    found = ACTION.match(line.strip())
    if not found:
        raise ScriptError("%s: expected 'NAME connects', 'NAME sends:', "
                          "'NAME receives:', 'NAME receives nothing' or "
                          "'NAME disconnects', got %r" % (where, line))
    name, action = found.groups()
    if name not in script.clients:
        raise ScriptError("%s: no [Client] %s in the header" % (where, name))
    return Step(number, name, action)


def check_script(script):
    """Catches at load time what would otherwise fail half-way through a
    run: a client without a JID, a step of a client not connected, XML
    that is not well-formed, a variable nobody defines."""
    for client in script.clients.values():
        if not client.jid or "@" not in client.jid:
            raise ScriptError("%s:%d: client %s needs 'jid: user@domain'"
                              % (script.name, client.line, client.name))
    connected = set()
    captures = set()
    for step in script.steps:
        check_step(script, step, connected, captures)


def check_step(script, step, connected, captures):
    where = "%s:%d" % (script.name, step.line)
    if step.action == "connects":
        if step.client in connected:
            raise ScriptError("%s: %s is already connected"
                              % (where, step.client))
        connected.add(step.client)
        return
    if step.client not in connected:
        raise ScriptError("%s: %s %s before it connects"
                          % (where, step.client, step.action.rstrip(":")))
    if step.action == "disconnects":
        connected.discard(step.client)
    if not step.action.endswith(":"):
        return
    if not step.xml.strip():
        raise ScriptError("%s: %s %s no stanza (indent the XML under it)"
                          % (where, step.client, step.action))
    for name in VARIABLE.findall(step.xml):
        check_variable(script, where, name, captures)
    elements = parse_xml(script, step, lambda name: "x")
    if step.action == "sends:":
        if ANY in step.xml or "{capture:" in step.xml:
            raise ScriptError("%s: %s and {capture:…} belong in what a "
                              "client receives" % (where, ANY))
    else:
        for el in elements:
            captures.update(captures_in(el))


def check_variable(script, where, name, captures):
    found = CLIENT_VARIABLE.match(name)
    if found and found.group(1) in script.clients:
        return
    if name not in captures:
        raise ScriptError("%s: unknown variable ${%s}: neither ${CLIENT's "
                          "JID}, ${CLIENT's full JID} nor captured before "
                          "by {capture:%s}" % (where, name, name))


def captures_in(el):
    names = set()
    for value in [el.text or ""] + list(el.attrib.values()):
        found = CAPTURE.match(value.strip())
        if found:
            names.add(found.group(1))
    for child in el:
        names |= captures_in(child)
    return names


def parse_xml(script, step, value_of):
    """The elements of a step's XML, its ${variables} replaced by
    value_of(name)."""
    text = VARIABLE.sub(lambda m: escape(value_of(m.group(1)),
                                         {'"': "&quot;", "'": "&apos;"}),
                        step.xml)
    try:
        root = ET.fromstring(WRAPPER % text)
    except ET.ParseError as e:
        # An element left open is found at the end of the wrapper.
        last = len(step.xml.rstrip().split("\n"))
        line = step.line + min(e.position[0], last)
        why = re.sub(r": line \d+, column \d+$", "", str(e))
        raise ScriptError("%s:%d: the XML is not well-formed: %s"
                          % (script.name, line, why)) from None
    for el in root.iter():
        # The script's indentation is layout, not content.
        if not (el.text or "").strip():
            el.text = None
        if not (el.tail or "").strip():
            el.tail = None
    return list(root)


# ---- matching ---------------------------------------------------------------

def match(expected, received):
    """The values captured when received matches expected; Mismatch says
    where and why it does not."""
    captures = {}
    match_element(expected, received, "", captures)
    return captures


def match_element(expected, received, path, captures):
    path += "/" + local_name(expected.tag)
    if received.tag != expected.tag:
        raise Mismatch("%s: expected <%s/>, received <%s/>"
                       % (path, show_tag(expected.tag),
                          show_tag(received.tag)))
    strict = expected.get(STRICT) == "true"
    for name, value in expected.attrib.items():
        if name != STRICT:
            match_value(value, received.get(name), path,
                        "attribute %s" % show_name(name), captures)
    if strict:
        extra = set(received.attrib) - set(expected.attrib)
        if extra:
            raise Mismatch("%s: attribute%s %s not expected (strict)"
                           % (path, "s" if len(extra) > 1 else "",
                              ", ".join(sorted(map(show_name, extra)))))
    if (expected.text or "").strip():
        match_value(expected.text.strip(), (received.text or "").strip(),
                    path, "text", captures)
    match_children(list(expected), list(received), path, strict, captures)


def match_value(expected, got, path, what, captures):
    found = CAPTURE.match(expected)
    if got is None:
        raise Mismatch("%s: no %s (expected %r)" % (path, what, expected))
    if expected == ANY:
        return
    if found:
        captures[found.group(1)] = got
    elif got != expected:
        raise Mismatch("%s: %s is %r, expected %r"
                       % (path, what, got, expected))


def match_children(expected, received, path, strict, captures):
    if strict and len(received) != len(expected):
        raise Mismatch("%s: %d children, expected exactly %d (strict)"
                       % (path, len(received), len(expected)))
    found = assign(expected, received, path)
    if found is None:
        raise Mismatch(closest_mismatch(expected, received, path))
    captures.update(found)


def assign(expected, received, path):
    """Matches every expected element to a received one of its own (any
    order, backtracking); the captures, or None when no way fits."""
    if not expected:
        return {}
    first, rest = expected[0], expected[1:]
    for i, candidate in enumerate(received):
        captures = {}
        try:
            match_element(first, candidate, path, captures)
        except Mismatch:
            continue
        others = assign(rest, received[:i] + received[i + 1:], path)
        if others is not None:
            captures.update(others)
            return captures
    return None


def closest_mismatch(expected, received, path):
    """Why the first expected element that nothing matches alone fails:
    against the received one of the same name when there is one."""
    for el in expected:
        same = [r for r in received if r.tag == el.tag]
        reasons = []
        for candidate in same:
            try:
                match_element(el, candidate, path, {})
            except Mismatch as e:
                reasons.append(str(e))
        if len(reasons) == len(same):
            if len(reasons) == 1:
                return reasons[0]
            return "%s: no <%s/> as expected among %d received" % (
                path, show_tag(el.tag), len(received))
    return "%s: not every element expected has one received of its own " \
        "(%d expected, %d received)" % (path, len(expected), len(received))


def local_name(tag):
    return tag.split("}", 1)[-1]


def show_tag(tag):
    """An element's name as a script writes it: query xmlns='…'."""
    if not tag.startswith("{") or tag.startswith("{jabber:client}"):
        return local_name(tag)
    if tag.startswith("{%s}" % STREAMS):
        return "stream:" + local_name(tag)
    return "%s xmlns='%s'" % (local_name(tag), tag[1:].split("}")[0])


def show_name(tag):
    if tag.startswith("{http://www.w3.org/XML/1998/namespace}"):
        return "xml:" + local_name(tag)
    if tag.startswith("{%s}" % SCANSION):
        return "scansion:" + local_name(tag)
    return local_name(tag)


def to_xml(el, parent_ns="jabber:client"):
    """el as XML text, an xmlns where its namespace changes (ElementTree
    would write ns0: prefixes)."""
    ns = el.tag[1:].split("}")[0] if el.tag.startswith("{") else ""
    attrs = "" if ns == parent_ns else " xmlns=%s" % quoteattr(ns)
    for name, value in el.attrib.items():
        attrs += " %s=%s" % (show_name(name), quoteattr(value))
    inner = escape(el.text or "") + "".join(
        to_xml(child, ns) + escape(child.tail or "") for child in el)
    name = local_name(el.tag)
    if not inner:
        return "<%s%s/>" % (name, attrs)
    return "<%s%s>%s</%s>" % (name, attrs, inner, name)


# ---- running ----------------------------------------------------------------

class ScriptStream(RawStream):
    def poll(self, seconds):
        """The next element if one comes within seconds, else None (also
        when the stream is closed: the next step says what it expects)."""
        try:
            return self.read_element(max(seconds, 0.001))
        except AssertionError:  # rawstream: timed out, or StreamClosed
            return None


def new_account(server, jid):
    """romeo@localhost → a new account romeo-N@localhost of server (the
    script's alone), and its password."""
    user, domain = jid.split("@", 1)
    return im.Accounts(server, domain).new(user), im.PASSWORD


class Run:
    """One run of a script against a running palabred."""

    def __init__(self, script, server, timeout=STEP_TIMEOUT):
        self.script = script
        self.server = server
        self.timeout = timeout
        self.accounts = {}    # the script's jid → (account jid, password)
        self.streams = {}     # client name → ScriptStream
        self.variables = {}
        self.pings = 0

    def run(self):
        try:
            for client in self.script.clients.values():
                self.account_of(client)
            for step in self.script.steps:
                self.run_step(step)
        finally:
            for stream in self.streams.values():
                stream.close()

    def run_step(self, step):
        action = step.action.rstrip(":").replace(" ", "_")
        try:
            getattr(self, "do_" + action)(step)
        except ScriptFailure:
            raise
        except AssertionError as e:  # rawstream: timeouts, closed streams
            raise self.failure(step, str(e)) from None

    def failure(self, step, message):
        return ScriptFailure("%s:%d: %s %s: %s" % (
            self.script.name, step.line, step.client,
            step.action.rstrip(":"), message))

    def account_of(self, client):
        if client.jid not in self.accounts:
            self.accounts[client.jid] = new_account(self.server, client.jid)
        jid = self.accounts[client.jid][0]
        self.variables["%s's JID" % client.name] = jid
        return self.accounts[client.jid]

    def value_of(self, name):
        if name not in self.variables:
            raise ScriptError("%s: ${%s} has no value yet (a full JID "
                              "exists once its client connects)"
                              % (self.script.name, name))
        return self.variables[name]

    # ---- the actions ------------------------------------------------

    def do_connects(self, step):
        client = self.script.clients[step.client]
        jid, password = self.account_of(client)
        domain = jid.split("@")[1]
        stream = ScriptStream(self.server.c2s_port, server_name=domain,
                              ca_file=self.server.ca_file,
                              timeout=self.timeout,
                              address=self.server.address)
        self.streams[step.client] = stream
        full = stream.login(jid, password, client.resource)
        stream.transcript = []  # a failure shows the script's exchange
        self.variables["%s's full JID" % client.name] = full

    def do_disconnects(self, step):
        stream = self.streams.pop(step.client)
        try:
            stream.send("</stream:stream>")
            while stream.poll(self.timeout) is not None:
                pass  # what the script did not ask for is not checked
            if not (stream.stream_ended or stream.closed):
                raise self.failure(step, "the server did not close the "
                                   "stream within %.0f s" % self.timeout)
        finally:
            stream.close()

    def do_sends(self, step):
        elements = parse_xml(self.script, step, self.value_of)
        text = "".join(to_xml(el) for el in elements)
        self.streams[step.client].send(text)

    def do_receives(self, step):
        expected = parse_xml(self.script, step, self.value_of)
        stream = self.streams[step.client]
        received = []
        for _ in expected:
            el = stream.poll(self.timeout)
            if el is None:
                raise self.failure(step, self.missing(
                    expected, received, stream))
            received.append(el)
        captures = assign(expected, received, "")
        if captures is None:
            raise self.failure(step, self.mismatch(expected, received,
                                                   stream))
        self.variables.update(captures)

    def do_receives_nothing(self, step):
        """Nothing arrives before the answer to a ping of the client's
        server (XEP-0199 §4), nor within SETTLE seconds after it."""
        stream = self.streams[step.client]
        self.pings += 1
        id_ = "xmppscript-ping-%d" % self.pings
        domain = self.value_of("%s's JID" % step.client).split("@")[1]
        stream.send("<iq type='get' id='%s' to='%s'><ping xmlns='urn:xmpp:"
                    "ping'/></iq>" % (id_, domain))
        deadline = time.monotonic() + self.timeout
        while True:
            el = stream.poll(max(0, deadline - time.monotonic()))
            if el is None:
                raise self.failure(step, "timed out waiting for the "
                                   "answer to a ping\n" + stream.dump())
            if el.get("id") == id_:  # a result, or an error without ping
                break
            raise self.failure(step, self.unexpected(el, stream))
        el = stream.poll(SETTLE)
        if el is not None:
            raise self.failure(step, self.unexpected(el, stream))

    # ---- what a failure says -----------------------------------------

    def unexpected(self, el, stream):
        return "received:\n  %s\n%s" % (to_xml(el), stream.dump())

    def missing(self, expected, received, stream):
        if stream.closed or stream.stream_ended:
            why = "the server closed the stream"
        else:
            why = "timed out after %.0f s" % self.timeout
        return "%s waiting for stanza %d of %d\n%s" % (
            why, len(received) + 1, len(expected),
            self.compare(expected, received, stream))

    def mismatch(self, expected, received, stream):
        if len(expected) == 1:
            try:
                match(expected[0], received[0])
                why = "the stanza differs"
            except Mismatch as e:
                why = str(e)
        else:
            why = "no order of what came matches: " + closest_mismatch(
                expected, received, "")
        return "%s\n%s" % (why, self.compare(expected, received, stream))

    def compare(self, expected, received, stream):
        return "expected:\n%s\nreceived:\n%s\n%s" % (
            "\n".join("  " + to_xml(el) for el in expected),
            "\n".join("  " + to_xml(el) for el in received) or "  nothing",
            stream.dump())


def run(script, server, timeout=STEP_TIMEOUT):
    """Runs script against server (a running palabre.Palabre); raises
    ScriptFailure at the first step the server does not follow."""
    Run(script, server, timeout).run()


# ---- what the test modules that run scripts share -------------------------

def scripts_in(*subdirectory):
    """The scripts of scripts/SUBDIRECTORY/*.scs (scripts/*.scs without
    one), sorted: a test module's parameters."""
    return sorted(glob.glob(os.path.join(os.path.dirname(__file__),
                                         "scripts", *subdirectory, "*.scs")))


def script_id(path):
    """A script's name, the test's id."""
    return os.path.splitext(os.path.basename(path))[0]


def check(path, server):
    """Runs the script at path against server; a failure fails the test
    with the script's own words, without the runner's traceback."""
    import pytest
    failure = None
    try:
        run(Script.load(path), server)
    except ScriptFailure as e:
        failure = str(e)
    if failure:
        pytest.fail(failure, pytrace=False)
