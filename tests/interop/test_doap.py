"""palabre.doap and docs/xeps.md say the same (issue 13, item 12).

docs/xeps.md is the page people read, palabre.doap the file the XMPP
Software list reads: the DOAP must be well-formed, and both must list
the same RFCs and XEPs, each XEP with the same version and status
("in progress" on the page is "planned" in the DOAP, the status the
xmpp-doap vocabulary has for it). No server runs.
"""
import os
import re
from xml.etree import ElementTree

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOAP = os.path.join(ROOT, "palabre.doap")
PAGE = os.path.join(ROOT, "docs", "xeps.md")

NS = {"doap": "http://usefulinc.com/ns/doap#",
      "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
      "xmpp": "https://linkmauve.fr/ns/xmpp-doap#"}
RESOURCE = "{%s}resource" % NS["rdf"]
STATUS_IN_DOAP = {"complete": "complete", "partial": "partial",
                  "in progress": "planned"}
# A row of the page: | [XEP-0030](URL) Title | version | status | notes |
ROW = re.compile(r"^\| \[(XEP-\d{4}|RFC \d{4})\]\(([^)]+)\)[^|]*"
                 r"\| ([^|]+?) \| ([^|]+?) \|")


def page_rows():
    rows = {}
    with open(PAGE, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = ROW.match(line)
            if not m:
                continue
            name, url, version, status = m.groups()
            assert name not in rows, "xeps.md:%d: %s twice" % (number, name)
            assert status in STATUS_IN_DOAP, \
                "xeps.md:%d: status '%s' is not one of %s" % (
                    number, status, ", ".join(STATUS_IN_DOAP))
            rows[name] = (url, version, status)
    return rows


def doap_project():
    root = ElementTree.parse(DOAP).getroot()  # raises on malformed XML
    assert root.tag == "{%s}RDF" % NS["rdf"]
    project = root.find("doap:Project", NS)
    assert project is not None, "palabre.doap has no doap:Project"
    return project


def doap_xeps():
    found = {}
    for xep in doap_project().iterfind(
            "doap:implements/xmpp:SupportedXep", NS):
        url = xep.find("xmpp:xep", NS).get(RESOURCE)
        m = re.fullmatch(r"https://xmpp\.org/extensions/xep-(\d{4})\.html",
                         url or "")
        assert m, "palabre.doap: %r is not a XEP's address" % url
        name = "XEP-" + m.group(1)
        assert name not in found, "palabre.doap: %s twice" % name
        found[name] = (url, xep.findtext("xmpp:version", None, NS),
                       xep.findtext("xmpp:status", None, NS))
    return found


def doap_rfcs():
    found = {}
    for implements in doap_project().iterfind("doap:implements", NS):
        url = implements.get(RESOURCE)
        if url:
            m = re.fullmatch(r"https://www\.rfc-editor\.org/info/rfc(\d{4})",
                             url)
            assert m, "palabre.doap: %r is not an RFC's address" % url
            found["RFC " + m.group(1)] = url
    return found


def test_the_doap_file_is_well_formed_and_names_palabre():
    assert doap_project().findtext("doap:name", None, NS) == "palabre"


def test_the_page_and_the_doap_list_the_same_xeps():
    page = {k: v for k, v in page_rows().items() if k.startswith("XEP")}
    doap = doap_xeps()
    assert sorted(set(page) - set(doap)) == [], "only in docs/xeps.md"
    assert sorted(set(doap) - set(page)) == [], "only in palabre.doap"
    for name, (url, version, status) in sorted(page.items()):
        assert doap[name] == (url, version, STATUS_IN_DOAP[status]), \
            "%s: docs/xeps.md says %s %s, palabre.doap %s %s" % (
                name, version, status, doap[name][1], doap[name][2])


def test_the_page_and_the_doap_list_the_same_rfcs():
    page = {k: v[0] for k, v in page_rows().items() if k.startswith("RFC")}
    assert page == doap_rfcs()
