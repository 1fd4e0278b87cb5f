"""PREMIS 3.0 XML export of the event log, checked element by element.

No copy of the official PREMIS v3 XSD is available offline here (none on this machine,
none found in the public sources searched), so these tests check the structure the
schema prescribes: namespace, element names, their order, required children,
attributes pointing at the id.loc.gov vocabularies.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from lxml import etree

from stook.audit import AuditOptions, run_audit
from stook.bagwriter import PayloadItem
from stook.cli import main
from stook.ledger import Event
from stook.premis import PREMIS_NS, premis_bytes
from stook.store import BagRequest, Store

P = f"{{{PREMIS_NS}}}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
VOCAB = "http://id.loc.gov/vocabulary/preservation/"

EVENT_CHILDREN = [
    "eventIdentifier", "eventType", "eventDateTime", "eventDetailInformation",
    "eventOutcomeInformation", "linkingAgentIdentifier", "linkingObjectIdentifier",
]


def _names(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el]


def _text(el: etree._Element, path: str) -> str:
    found = el.find(path.replace("p:", P))
    assert found is not None, path
    return found.text or ""


def _store_with_a_failure(tmp_path: Path) -> Path:
    store_path = tmp_path / "store"
    with Store.open(store_path, create=True) as store:
        results = store.add_many([
            BagRequest(record={"identifier": f"urn:premis:{n}", "title": f"Record {n}"},
                       payload=[PayloadItem("text.txt", data=f"text {n}\n".encode())])
            for n in range(2)
        ])
        broken = results[1].path / "data/text.txt"
        broken.write_bytes(b"TEXT 1\n")
        run_audit(store, AuditOptions(workers=1))
    return store_path


def test_events_export_has_the_premis_3_structure(tmp_path: Path) -> None:
    store_path = _store_with_a_failure(tmp_path)
    out = CliRunner().invoke(main, ["events", "--store", str(store_path), "--format", "premis"])
    assert out.exit_code == 0, out.output
    root = etree.fromstring(out.stdout_bytes)
    assert root.tag == f"{P}premis" and root.get("version") == "3.0"
    assert root.nsmap["premis"] == PREMIS_NS
    names = _names(root)
    # PREMIS orders the root's children: objects, then events, then agents.
    assert names == sorted(names, key=["object", "event", "agent"].index)
    assert names.count("object") == 2 and names.count("event") == 8 and names.count("agent") == 1

    objects = root.findall(f"{P}object")
    for obj in objects:
        assert obj.get(XSI_TYPE) == "premis:representation"
        assert _names(obj)[0] == "objectIdentifier"
        assert _text(obj, "p:objectIdentifier/p:objectIdentifierType") == "stook bag path"
    object_ids = {_text(o, "p:objectIdentifier/p:objectIdentifierValue") for o in objects}

    with Store.open(store_path) as store:
        ledger_events = {e.uuid: e for e in store.ledger.events()}
    agent = root.find(f"{P}agent")
    assert agent is not None
    assert _names(agent) == ["agentIdentifier", "agentName", "agentType", "agentVersion", "agentNote"]
    agent_id = _text(agent, "p:agentIdentifier/p:agentIdentifierValue")
    assert agent_id.startswith("stook/") and _text(agent, "p:agentName") == "stook"
    agent_type = agent.find(f"{P}agentType")
    assert agent_type is not None and agent_type.text == "software"
    assert agent_type.get("valueURI") == VOCAB + "agentType/sof"

    seen = []
    for ev in root.findall(f"{P}event"):
        children = _names(ev)
        assert children == [n for n in EVENT_CHILDREN if n in children]  # schema order
        assert {"eventIdentifier", "eventType", "eventDateTime"} <= set(children)
        assert _text(ev, "p:eventIdentifier/p:eventIdentifierType") == "UUID"
        uuid = _text(ev, "p:eventIdentifier/p:eventIdentifierValue")
        ledger = ledger_events[uuid]
        seen.append(uuid)
        etype = ev.find(f"{P}eventType")
        assert etype is not None
        assert etype.get("authority") == "eventType"
        assert etype.get("authorityURI") == VOCAB + "eventType"
        assert etype.get("valueURI") == VOCAB + "eventType/" + ledger.type
        assert _text(ev, "p:eventDateTime") == ledger.datetime
        assert _text(ev, "p:eventDetailInformation/p:eventDetail") == ledger.detail
        outcome = ev.find(f"{P}eventOutcomeInformation/{P}eventOutcome")
        assert outcome is not None
        assert outcome.text == {"suc": "success", "fai": "failure"}[ledger.outcome]
        assert outcome.get("valueURI") == VOCAB + "eventOutcome/" + ledger.outcome
        assert _text(ev, "p:linkingAgentIdentifier/p:linkingAgentIdentifierValue") == agent_id
        role = ev.find(f"{P}linkingAgentIdentifier/{P}linkingAgentRole")
        assert role is not None and role.get("valueURI") == VOCAB + "eventRelatedAgentRole/exe"
        assert _text(ev, "p:linkingObjectIdentifier/p:linkingObjectIdentifierValue") == ledger.bag
        assert ledger.bag in object_ids
        if ledger.type == "fix" and ledger.outcome == "fai":
            notes = [n.text or "" for n in ev.iter(f"{P}eventOutcomeDetailNote")]
            assert len(notes) == 1 and notes[0].startswith("data/text.txt: corrupted (sha512 expected ")
            assert ", found " in notes[0]
    assert seen == list(ledger_events)  # every event, in ledger order


def test_history_premis_and_hostile_text_stays_well_formed(tmp_path: Path) -> None:
    store_path = _store_with_a_failure(tmp_path)
    out = CliRunner().invoke(main, ["history", "urn:premis:1", "--store", str(store_path),
                                    "--format", "premis"])
    assert out.exit_code == 0
    root = etree.fromstring(out.stdout_bytes)
    assert len(root.findall(f"{P}event")) == 4 and len(root.findall(f"{P}object")) == 1
    nasty = Event("fix", "fai", "urn:x\x01", 1, "x/v1", detail="bad \x00\x1b byte </premis:event> & more")
    doc = etree.fromstring(premis_bytes([nasty]))
    detail = doc.find(f"{P}event/{P}eventDetailInformation/{P}eventDetail")
    assert detail is not None and detail.text == "bad \ufffd\ufffd byte </premis:event> & more"


def test_premis_export_streams_a_large_log(tmp_path: Path) -> None:
    events = [Event("fix", "suc", f"urn:{n}", 1, f"b{n}/v1", detail="ok") for n in range(1000)]
    path = tmp_path / "log.xml"
    with open(path, "wb") as fh:
        from stook.premis import write_premis

        assert write_premis(fh, events) == 1000
    assert os.path.getsize(path) > 1000 * 500
    root = etree.parse(str(path)).getroot()
    assert len(root.findall(f"{P}event")) == 1000 and len(root.findall(f"{P}object")) == 1000
