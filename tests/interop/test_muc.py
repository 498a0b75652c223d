"""Chat rooms (XEP-0045): the scripts of scripts/muc/*.scs, one test
each, run against a palabred with a muc service on each domain
(conference.localhost, conference.chat.example) and one service admin.
"""
import glob
import os

import pytest

import im
import xmppscript

MUC = ("  <muc>\n"
       "    <admin>admin@localhost</admin>\n"
       "  </muc>\n")

SCRIPTS = sorted(glob.glob(os.path.join(os.path.dirname(__file__),
                                        "scripts", "muc", "*.scs")))


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("muc"), certs,
                       extra_config=MUC)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def script_id(path):
    return os.path.splitext(os.path.basename(path))[0]


@pytest.mark.parametrize("path", SCRIPTS, ids=script_id)
def test_script(server, path):
    script = xmppscript.Script.load(path)
    failure = None
    try:
        xmppscript.run(script, server)
    except xmppscript.ScriptFailure as e:
        failure = str(e)
    if failure:
        pytest.fail(failure, pytrace=False)
