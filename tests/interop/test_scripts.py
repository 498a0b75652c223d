"""The scripted exchanges of scripts/*.scs, one test each.

Every script runs against the module's palabred (the IM modules on),
with accounts of its own (scripts/README.md says how to write one).
"""

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

SCRIPTS = xmppscript.scripts_in()


@pytest.mark.parametrize("path", SCRIPTS, ids=xmppscript.script_id)
def test_script(server, path):
    xmppscript.check(path, server)
