"""What the server tells about itself under settings of its own: the
scripts of scripts/server_info/*.scs, one test each, run against a
palabred whose <sm> hides the software version (XEP-0092).
"""
import glob
import os

import pytest

import im
import xmppscript

SM_EXTRA = "<version-hidden>true</version-hidden>"

SCRIPTS = sorted(glob.glob(os.path.join(os.path.dirname(__file__),
                                        "scripts", "server_info", "*.scs")))


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("server_info"), certs,
                       sm_extra=SM_EXTRA)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def script_id(path):
    return os.path.splitext(os.path.basename(path))[0]


@pytest.mark.parametrize("path", SCRIPTS, ids=script_id)
def test_script(server, path):
    failure = None
    try:
        xmppscript.run(xmppscript.Script.load(path), server)
    except xmppscript.ScriptFailure as e:
        failure = str(e)
    if failure:
        pytest.fail(failure, pytrace=False)
