"""A bad config.xml stops palabred with a message naming file, line, setting."""
import os
import subprocess

import pytest

from palabre import PALABRED, free_ports


def config_lines(port="%(port)d", extra_c2s=""):
    """config.xml as a list of lines; line numbers are index + 1."""
    return [
        '<?xml version="1.0"?>',                                  # 1
        '<palabred>',                                             # 2
        '  <router><socket>router.sock</socket></router>',        # 3
        '  <storage><path>data</path></storage>',                 # 4
        '  <host domain="localhost">',                            # 5
        '    <certificate>localhost.crt</certificate>',           # 6
        '    <key>localhost.key</key>',                           # 7
        '  </host>',                                              # 8
        '  <c2s>',                                                # 9
        '    <listen address="127.0.0.1" port="%s"/>' % port,     # 10
        extra_c2s,                                                # 11
        '  </c2s>',                                               # 12
        '</palabred>',                                            # 13
    ]


def run_palabred(tmp_path, certs, lines):
    for ext in ("crt", "key"):
        with open(certs["localhost"][ext], "rb") as f:
            (tmp_path / ("localhost." + ext)).write_bytes(f.read())
    config = tmp_path / "config.xml"
    config.write_text("\n".join(lines) + "\n")
    assert os.access(PALABRED, os.X_OK), "%s is missing" % PALABRED
    proc = subprocess.Popen([PALABRED, "-c", str(config)], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        out = None
    if out is None:
        proc.terminate()  # by pid; palabred stops its components
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise AssertionError("palabred ran on with a bad config:\n%s" % err)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("port,problem", [("abc", "abc"), ("70000", "70000"),
                                          ("", "")])
def test_bad_port_names_file_line_and_setting(tmp_path, certs, port, problem):
    r = run_palabred(tmp_path, certs, config_lines(port=port))
    assert r.returncode != 0
    assert "config.xml:10:" in r.stderr, r.stderr
    assert "c2s/listen/@port" in r.stderr, r.stderr
    assert problem in r.stderr.split("c2s/listen/@port", 1)[1], r.stderr


def test_unknown_setting_names_file_line_and_setting(tmp_path, certs):
    port, = free_ports(1)
    r = run_palabred(tmp_path, certs, config_lines(
        port=port, extra_c2s="    <colour>red</colour>"))
    assert r.returncode != 0
    assert "config.xml:11:" in r.stderr, r.stderr
    assert "c2s/colour" in r.stderr, r.stderr


def test_bad_boolean_names_file_line_and_setting(tmp_path, certs):
    port, = free_ports(1)
    r = run_palabred(tmp_path, certs, config_lines(
        port=port,
        extra_c2s="    <require-starttls>perhaps</require-starttls>"))
    assert r.returncode != 0
    assert "config.xml:11:" in r.stderr, r.stderr
    assert "c2s/require-starttls" in r.stderr, r.stderr


def test_missing_certificate_names_the_setting(tmp_path, certs):
    port, = free_ports(1)
    lines = config_lines(port=port)
    lines[5] = '    <certificate>missing.crt</certificate>'
    r = run_palabred(tmp_path, certs, lines)
    assert r.returncode != 0
    assert "config.xml:6:" in r.stderr, r.stderr
    assert "host/certificate" in r.stderr, r.stderr
    assert "missing.crt" in r.stderr, r.stderr


def test_missing_config_file_is_named(tmp_path):
    r = subprocess.run([PALABRED, "-c", str(tmp_path / "nowhere.xml")],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert "nowhere.xml" in r.stderr, r.stderr


def test_palabrectl_reports_config_errors_too(tmp_path, certs):
    from palabre import PALABRECTL
    run_palabred(tmp_path, certs, config_lines(port="abc"))
    r = subprocess.run([PALABRECTL, "-c", str(tmp_path / "config.xml"),
                        "user", "list", "localhost"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert "config.xml:10:" in r.stderr and "c2s/listen/@port" in r.stderr, \
        r.stderr
