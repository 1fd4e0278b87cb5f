"""The XML namespaces and schema locations stook reads and writes, defined once.

The harvest client, the crosswalks and the provider all speak OAI-PMH and Dublin Core;
they take these names from here.
"""

from __future__ import annotations

NS_OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
NS_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_DCTERMS = "http://purl.org/dc/terms/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_XLINK = "http://www.w3.org/1999/xlink"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = f"{{{NS_XML}}}lang"
NS_MODS = "http://www.loc.gov/mods/v3"
NS_MARC = "http://www.loc.gov/MARC21/slim"
NS_DATACITE_KERNELS = tuple(f"http://datacite.org/schema/kernel-{v}" for v in ("4", "3", "2.2", "2.1", "2.0"))
NS_OAI_DATACITE = ("http://schema.datacite.org/oai/oai-1.1/", "http://schema.datacite.org/oai/oai-1.0/")
