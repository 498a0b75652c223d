"""The scripted exchanges of scripts/*.scs, one test each.

Every script runs against the module's palabred (the IM modules on),
with accounts of its own (scripts/README.md says how to write one).
"""
import glob
import os

import pytest

import im
import xmppscript

# localhost's STUN and TURN servers (extdisco_*.scs); chat.example has
# none.
EXTERNAL_SERVICES = (
    '    <external-services>\n'
    '      <turn host="turn.localhost" secret="scripts-secret"'
    ' tls-port="5349"/>\n'
    '      <stun host="stun.example.net" port="3479" name="Public STUN"/>\n'
    '    </external-services>\n')

SERVER_OPTIONS = {"modules": im.IM_MODULES,
                  "host_extra": {"localhost": EXTERNAL_SERVICES}}

SCRIPTS = sorted(glob.glob(os.path.join(os.path.dirname(__file__),
                                        "scripts", "*.scs")))


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
    if failure:  # the script's own words, without the runner's traceback
        pytest.fail(failure, pytrace=False)
