"""Identifiers -> schemes: check digits where a scheme has one, DOIs in every spelling, bare handles."""

from __future__ import annotations

import pytest
from support.oai_records import dc_doc, oai_record, walk

from stook.crosswalk import identifier_with_scheme
from stook.crosswalk.identifiers import isbn_valid, issn_valid, orcid_valid, typed_identifier
from stook.schema import validate_record

CASES = [
    # DOIs, normalised to the bare DOI
    ("10.5555/xyz", "doi", "10.5555/xyz"),
    ("doi:10.5555/xyz", "doi", "10.5555/xyz"),
    ("DOI: 10.5555/xyz", "doi", "10.5555/xyz"),
    ("info:doi/10.5555/xyz", "doi", "10.5555/xyz"),
    ("https://doi.org/10.5555/xyz", "doi", "10.5555/xyz"),
    ("http://dx.doi.org/10.5555/xyz", "doi", "10.5555/xyz"),
    ("https://doi.org/10.5555%2Fxyz", "doi", "10.5555/xyz"),
    # handles without resolver or query
    ("https://hdl.handle.net/1234/5", "handle", "1234/5"),
    ("http://hdl.handle.net/2027/mdp.39015?urlappend=%3Bseq=7", "handle", "2027/mdp.39015"),
    ("https://hdl.handle.net/20.500.12345/42#page=3", "handle", "20.500.12345/42"),
    ("hdl:20.500.12345/42", "handle", "20.500.12345/42"),
    ("info:hdl/20.500.12345/42", "handle", "20.500.12345/42"),
    # ISBN and ISSN only with a valid check digit
    ("978-3-16-148410-0", "isbn", "9783161484100"),
    ("9780306406157", "isbn", "9780306406157"),
    ("0-306-40615-2", "isbn", "0306406152"),
    ("0306406152 (pbk.)", "isbn", "0306406152"),
    ("ISBN 978-3-16-148410-0", "isbn", "9783161484100"),
    ("080442957X", "isbn", "080442957X"),
    ("9783161484101", "local", "9783161484101"),
    ("0-306-40615-3", "local", "0-306-40615-3"),
    ("ISBN 0-306-40615-3", "local", "ISBN 0-306-40615-3"),
    ("ISSN 0317-8471", "issn", "0317-8471"),
    ("0317-8471", "issn", "0317-8471"),
    ("03178471", "issn", "0317-8471"),
    ("0317-8472", "local", "0317-8472"),
    ("1961-1962", "local", "1961-1962"),
    # ORCID with its check character, arXiv, PubMed
    ("https://orcid.org/0000-0002-1825-0097", "orcid", "0000-0002-1825-0097"),
    ("0000-0002-1825-0097", "orcid", "0000-0002-1825-0097"),
    ("0000-0002-9079-593X", "orcid", "0000-0002-9079-593X"),
    ("https://orcid.org/0000-0002-1825-0098", "url", "https://orcid.org/0000-0002-1825-0098"),
    ("arXiv:2101.00001v2", "arxiv", "2101.00001v2"),
    ("arXiv:hep-th/9901001", "arxiv", "hep-th/9901001"),
    ("https://arxiv.org/abs/2101.00001", "arxiv", "2101.00001"),
    ("PMID: 12345678", "pmid", "12345678"),
    ("https://pubmed.ncbi.nlm.nih.gov/12345678/", "pmid", "12345678"),
    # the rest
    ("ark:/13030/tf5p30086k", "ark", "ark:/13030/tf5p30086k"),
    ("https://n2t.net/ark:/13030/tf5p30086k", "ark", "ark:/13030/tf5p30086k"),
    ("https://digital.example.edu/ark:/67531/metadc123/", "ark", "ark:/67531/metadc123"),
    ("urn:nbn:de:1234-5678", "urn", "urn:nbn:de:1234-5678"),
    ("oai:other.org:7", "oai", "oai:other.org:7"),
    ("ftp://example.org/file.pdf", "url", "ftp://example.org/file.pdf"),
    ("12345678", "local", "12345678"),
    ("inv. no. 77", "local", "inv. no. 77"),
]


@pytest.mark.parametrize(("written", "scheme", "value"), CASES)
def test_schemes(written: str, scheme: str, value: str) -> None:
    assert identifier_with_scheme(written) == {"scheme": scheme, "value": value}


def test_check_digit_functions() -> None:
    assert isbn_valid("0306406152") and isbn_valid("9780306406157") and isbn_valid("080442957X")
    assert not isbn_valid("0306406153") and not isbn_valid("9770306406157") and not isbn_valid("X306406152")
    assert issn_valid("0317-8471") and issn_valid("2049-3630") and not issn_valid("0317-8470")
    assert orcid_valid("0000-0002-1825-0097") and not orcid_valid("0000-0002-1825-0090")


def test_typed_identifiers() -> None:
    assert typed_identifier("hdl", "2027/mdp.39015")[0] == {"scheme": "handle", "value": "2027/mdp.39015"}
    assert typed_identifier("doi", "10.5555/x") == ({"scheme": "doi", "value": "10.5555/x"},
                                                    "https://doi.org/10.5555/x")
    assert typed_identifier("isbn", "0306406153")[0]["scheme"] == "local"
    assert typed_identifier("lccn", "12004567")[0] == {"scheme": "x-lccn", "value": "12004567"}
    assert typed_identifier("Local accession", "ACC-7")[0] == {"scheme": "x-local-accession",
                                                               "value": "ACC-7"}
    assert typed_identifier("ISNI", "0000 0001 2103 2683")[0] == {"scheme": "isni",
                                                                  "value": "0000000121032683"}
    assert typed_identifier("ROR", "03yrm5c26")[0] == {"scheme": "ror", "value": "https://ror.org/03yrm5c26"}
    assert typed_identifier("uri", "https://doi.org/10.5555/x")[0]["scheme"] == "doi"


def test_identifiers_in_a_record_with_links_and_notes() -> None:
    element = oai_record("oai:x:1", dc_doc(
        ("title", "T"),
        ("identifier", "info:doi/10.5555/harbour"),
        ("identifier", "https://hdl.handle.net/2027/mdp.39015?urlappend=%3Bseq=7"),
        ("identifier", "ISBN 0-306-40615-3"),
        ("identifier", "9780306406157"),
    ))
    walked = walk(element)
    record = walked.record
    assert validate_record(record) == []
    assert record["identifiers"][1:] == [
        {"scheme": "doi", "value": "10.5555/harbour"},
        {"scheme": "handle", "value": "2027/mdp.39015"},
        {"scheme": "local", "value": "ISBN 0-306-40615-3"},
        {"scheme": "isbn", "value": "9780306406157"},
    ]
    # links for --fetch-files: the DOI resolver, the handle URL as written (its query included)
    assert walked.links == ["https://doi.org/10.5555/harbour",
                            "https://hdl.handle.net/2027/mdp.39015?urlappend=%3Bseq=7"]
    assert record["extensions"]["stook:crosswalk-notes"] == [
        "identifier 'ISBN 0-306-40615-3' is not a valid ISBN (check digit); kept as local"]
