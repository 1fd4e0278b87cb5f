"""PREMIS 3.0 XML of the ledger's events, for exchange with other preservation systems.

The document is a ``premis:premis`` (version 3.0) holding one ``object`` per bag version
the events are about (a representation, identified by its store path), the ``event``
elements in the order they were recorded, and one ``agent`` per stook version that acted.
Event types, outcomes, the agent type and its role point at the Library of Congress
preservation vocabularies (id.loc.gov) with ``authority``/``authorityURI``/``valueURI``.
It is written incrementally, so a long event log never sits in memory as a tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from lxml import etree

from stook import AGENT_NAME, PROJECT_URL
from stook.ledger import EVENT_TYPES, OUTCOMES, PREMIS_EVENT_TYPE, PREMIS_OUTCOME, Event
from stook.xmlns import NS_XSI

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = NS_XSI
PREMIS_XSD = "https://www.loc.gov/standards/premis/premis.xsd"
NSMAP = {"premis": PREMIS_NS, "xsi": XSI_NS}

VOCABULARY = "http://id.loc.gov/vocabulary/preservation/"
AGENT_TYPE_SOFTWARE = VOCABULARY + "agentType/sof"
ROLE_EXECUTING_PROGRAM = VOCABULARY + "eventRelatedAgentRole/exe"
EVENT_ID_TYPE = "UUID"
OBJECT_ID_TYPE = "stook bag path"
AGENT_ID_TYPE = "stook agent"


def _q(name: str) -> str:
    return f"{{{PREMIS_NS}}}{name}"


def _authority(element: Any, authority: str, uri: str, value_uri: str) -> None:
    element.set("authority", authority)
    element.set("authorityURI", uri)
    element.set("valueURI", value_uri)


def _sub(parent: Any, name: str, text: str | None = None) -> Any:
    child = etree.SubElement(parent, _q(name))
    if text is not None:
        child.text = _clean(text)
    return child


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; replace them visibly."""
    return "".join(
        ch if ch in "\t\n\r" or (ord(ch) >= 0x20 and not 0xD800 <= ord(ch) <= 0xDFFF
                                  and ch not in "\ufffe\uffff") else "\ufffd"
        for ch in text
    )


def event_element(event: Event) -> Any:
    """One ``premis:event``, elements in the order the PREMIS 3.0 schema requires."""
    el = etree.Element(_q("event"), nsmap=NSMAP)
    ident = _sub(el, "eventIdentifier")
    _sub(ident, "eventIdentifierType", EVENT_ID_TYPE)
    _sub(ident, "eventIdentifierValue", event.uuid)
    etype = _sub(el, "eventType", EVENT_TYPES[event.type])
    _authority(etype, "eventType", PREMIS_EVENT_TYPE.rstrip("/"), event.type_uri)
    _sub(el, "eventDateTime", event.datetime)
    if event.detail:
        info = _sub(el, "eventDetailInformation")
        _sub(info, "eventDetail", event.detail)
    outcome_info = _sub(el, "eventOutcomeInformation")
    outcome = _sub(outcome_info, "eventOutcome", OUTCOMES[event.outcome])
    _authority(outcome, "eventOutcome", PREMIS_OUTCOME.rstrip("/"), event.outcome_uri)
    for note in _outcome_notes(event):
        detail = _sub(outcome_info, "eventOutcomeDetail")
        _sub(detail, "eventOutcomeDetailNote", note)
    agent = _sub(el, "linkingAgentIdentifier")
    _sub(agent, "linkingAgentIdentifierType", AGENT_ID_TYPE)
    _sub(agent, "linkingAgentIdentifierValue", event.agent)
    role = _sub(agent, "linkingAgentRole", "executing program")
    _authority(role, "eventRelatedAgentRole", VOCABULARY + "eventRelatedAgentRole", ROLE_EXECUTING_PROGRAM)
    if event.bag:
        obj = _sub(el, "linkingObjectIdentifier")
        _sub(obj, "linkingObjectIdentifierType", OBJECT_ID_TYPE)
        _sub(obj, "linkingObjectIdentifierValue", event.bag)
    return el


def _outcome_notes(event: Event) -> list[str]:
    """One note per problem a failed check found (file, kind, algorithm, expected, found)."""
    data = event.data or {}
    problems = data.get("problems") if isinstance(data, dict) else None
    notes: list[str] = []
    if isinstance(problems, list):
        for p in problems:
            if not isinstance(p, dict):
                continue
            note = f"{p.get('path') or 'bag'}: {p.get('kind', 'problem')}"
            if p.get("algorithm") and p.get("expected") and p.get("found"):
                note += f" ({p['algorithm']} expected {p['expected']}, found {p['found']})"
            elif p.get("message"):
                note += f": {p['message']}"
            notes.append(note)
    return notes


def object_element(bag: str, identifier: str | None) -> Any:
    """A bag version as a PREMIS representation object, identified by its store path."""
    el = etree.Element(_q("object"), nsmap=NSMAP)
    el.set(f"{{{XSI_NS}}}type", "premis:representation")
    ident = _sub(el, "objectIdentifier")
    _sub(ident, "objectIdentifierType", OBJECT_ID_TYPE)
    _sub(ident, "objectIdentifierValue", bag)
    if identifier:
        record = _sub(el, "objectIdentifier")
        _sub(record, "objectIdentifierType", "record identifier")
        _sub(record, "objectIdentifierValue", identifier)
    return el


def agent_element(agent: str) -> Any:
    """stook (one element per version that recorded events) as a software agent."""
    name, _, version = agent.partition("/")
    el = etree.Element(_q("agent"), nsmap=NSMAP)
    ident = _sub(el, "agentIdentifier")
    _sub(ident, "agentIdentifierType", AGENT_ID_TYPE)
    _sub(ident, "agentIdentifierValue", agent)
    _sub(el, "agentName", name or AGENT_NAME)
    atype = _sub(el, "agentType", "software")
    _authority(atype, "agentType", VOCABULARY + "agentType", AGENT_TYPE_SOFTWARE)
    if version:
        _sub(el, "agentVersion", version)
    _sub(el, "agentNote", f"{AGENT_NAME}: BagIt store and fixity auditing; {PROJECT_URL}")
    return el


def write_premis(out: IO[bytes], events: Sequence[Event]) -> int:
    """Write ``events`` as one PREMIS 3.0 document to the binary stream ``out``; return the count."""
    objects: dict[str, str | None] = {}
    agents: list[str] = []
    for e in events:
        if e.bag and (e.bag not in objects or objects[e.bag] is None):
            objects[e.bag] = e.identifier
        if e.agent not in agents:
            agents.append(e.agent)
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        attrs = {"version": "3.0", f"{{{XSI_NS}}}schemaLocation": f"{PREMIS_NS} {PREMIS_XSD}"}
        with xf.element(_q("premis"), attrs, nsmap=NSMAP):
            for bag, identifier in objects.items():
                _stream(xf, object_element(bag, identifier), 1)
            for e in events:
                _stream(xf, event_element(e), 1)
            for agent in agents:
                _stream(xf, agent_element(agent), 1)
            xf.write("\n")
    return len(events)


def _stream(xf: Any, element: Any, depth: int) -> None:
    """Write a built element through the incremental writer, so the namespaces declared on
    the root are reused (no repeated declarations) and the output stays indented."""
    xf.write("\n" + "  " * depth)
    with xf.element(element.tag, dict(element.attrib)):
        if element.text:
            xf.write(element.text)
        children = list(element)
        for child in children:
            _stream(xf, child, depth + 1)
        if children:
            xf.write("\n" + "  " * depth)


def premis_bytes(events: Sequence[Event]) -> bytes:
    """The PREMIS document as bytes (for tests and small exports)."""
    import io

    buffer = io.BytesIO()
    write_premis(buffer, events)
    return buffer.getvalue()
