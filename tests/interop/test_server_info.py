"""What the server tells about itself under settings of its own: the
scripts of scripts/server_info/*.scs, one test each, run against a
palabred whose <sm> hides the software version (XEP-0092) and whose
localhost has contact addresses (XEP-0157); and what a script cannot
check: that the server's time (XEP-0202) is now, that chat.example,
without contacts, has no such form, and that the caps (XEP-0115) in the
stream features are the hash of the disco#info the server answers.
"""
import base64
import datetime
import hashlib
import re

import pytest

import im
import xmppscript
from slixmpp.xmlstream import ET

TIME = "urn:xmpp:time"

SM_EXTRA = "<version-hidden>true</version-hidden>"
CONTACTS = """<contacts>
      <admin>mailto:admin@localhost</admin>
      <abuse>https://localhost/abuse</abuse>
      <admin>xmpp:admin@localhost</admin>
    </contacts>
"""
DISCO_INFO = "http://jabber.org/protocol/disco#info"
CAPS = "http://jabber.org/protocol/caps"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DATA = "jabber:x:data"

SCRIPTS = xmppscript.scripts_in("server_info")


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    s = im.make_server(tmp_path_factory.mktemp("server_info"), certs,
                       sm_extra=SM_EXTRA)
    with open(s.config) as f:
        text = f.read()
    s.write_config(text.replace("<key>localhost.key</key>\n",
                                "<key>localhost.key</key>\n    " + CONTACTS))
    try:
        s.start()
        yield s
    finally:
        s.stop()



@pytest.mark.parametrize("path", SCRIPTS, ids=xmppscript.script_id)
def test_script(server, path):
    xmppscript.check(path, server)


def test_time_is_now(server, clients):
    """XEP-0202 §3: utc is the time now (a XEP-0082 DateTime in UTC), tzo
    the host's offset (XEP-0082 TZD), the same as Python finds."""
    romeo = im.login(clients, im.Accounts(server).new("romeo"))
    before = datetime.datetime.now(datetime.timezone.utc)
    answer = romeo.iq("get", ET.Element("{%s}time" % TIME), to="localhost")
    after = datetime.datetime.now(datetime.timezone.utc)
    utc = answer.find("{%s}time/{%s}utc" % (TIME, TIME)).text
    tzo = answer.find("{%s}time/{%s}tzo" % (TIME, TIME)).text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", utc), utc
    stamp = datetime.datetime.strptime(utc, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before.replace(microsecond=0) <= stamp <= after
    offset = before.astimezone().utcoffset()
    minutes = int(offset.total_seconds()) // 60
    assert tzo == "%s%02d:%02d" % ("-" if minutes < 0 else "+",
                                   abs(minutes) // 60, abs(minutes) % 60)


def disco_info(client, domain):
    answer = client.iq("get", ET.Element("{%s}query" % DISCO_INFO),
                       to=domain)
    assert answer.get("type") == "result", ET.tostring(answer)
    return answer.find("{%s}query" % DISCO_INFO)


def test_host_without_contacts_has_no_form(server, clients):
    romeo = im.login(clients, im.Accounts(server).new("romeo"))
    assert disco_info(romeo, "localhost").find("{%s}x" % DATA) is not None
    assert disco_info(romeo, "chat.example").find("{%s}x" % DATA) is None


def caps_ver(query):
    """XEP-0115 §5.1, written again from the XEP: identities sorted by
    category/type/lang/name, features, then the forms by FORM_TYPE, their
    fields by var and values; each followed by '<'."""
    identities = sorted(
        "/".join(i.get(a, "") for a in ("category", "type", XML_LANG, "name"))
        for i in query.findall("{%s}identity" % DISCO_INFO))
    features = sorted(f.get("var")
                      for f in query.findall("{%s}feature" % DISCO_INFO))
    forms = []
    for x in query.findall("{%s}x" % DATA):
        fields = {f.get("var"): sorted(v.text or "" for v in
                                       f.findall("{%s}value" % DATA))
                  for f in x.findall("{%s}field" % DATA)}
        form_type = fields.pop("FORM_TYPE")[0]
        forms.append([form_type] + [s for var in sorted(fields)
                                    for s in [var] + fields[var]])
    s = "".join(p + "<" for p in identities + features
                + [s for form in sorted(forms) for s in form])
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


@pytest.mark.parametrize("domain", ["localhost", "chat.example"])
def test_caps_in_stream_features_hash_the_disco_info(server, clients,
                                                     domain):
    """XEP-0115 §6.3: <c/> in the stream features after SASL, whose ver
    is the hash of what disco#info answers for the stream's domain (with
    its contacts form on localhost); §6.2: a disco#info to its node
    answers the same, naming the node."""
    jid = im.Accounts(server, domain).new("romeo")
    features = im.stream_features(server, jid)
    c = features.find("{%s}c" % CAPS)
    assert c is not None, ET.tostring(features)
    assert c.get("hash") == "sha-1"
    romeo = im.login(clients, jid)
    info = disco_info(romeo, domain)
    assert c.get("ver") == caps_ver(info)
    node = ET.Element("{%s}query" % DISCO_INFO,
                      node=c.get("node") + "#" + c.get("ver"))
    answer = romeo.iq("get", node, to=domain)
    query = answer.find("{%s}query" % DISCO_INFO)
    assert query.get("node") == node.get("node")
    assert caps_ver(query) == c.get("ver")
    node.set("node", c.get("node") + "#nope")
    assert romeo.iq("get", node, to=domain).get("type") == "error"
