"""Protocol files: the shipped version 1, the loader, and validation of protocol structure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rescue_eligibility.domain import criteria
from rescue_eligibility.domain.criteria import (
    Protocol,
    ProtocolConfigError,
    UnknownProtocolVersionError,
    available_versions,
    load_protocol,
    parse_protocol,
)

SISTER = "adopted from sister trials DESKTOP III / SOC-1, not public for RESCUE"


@pytest.fixture
def protocol_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the loader at a temporary directory of protocol files."""
    monkeypatch.setattr(criteria.resources, "files", lambda _package: tmp_path)
    load_protocol.cache_clear()
    yield tmp_path
    load_protocol.cache_clear()


def _minimal(version: str = "1", criteria_yaml: str | None = None) -> str:
    body = criteria_yaml or (
        "  - {id: INC-01, kind: inclusion, text: Adult., source: test,\n"
        "     rule: {fact: age_years, op: '>=', value: 19}}\n"
    )
    return f"trial: TEST\nversion: '{version}'\ncriteria:\n{body}"


def test_version_1_is_available_and_loads() -> None:
    assert "1" in available_versions()
    protocol = load_protocol("1")
    assert protocol.version == "1"
    assert "NCT07295132" in protocol.trial
    assert load_protocol("1") is protocol


def test_version_1_criteria_ids_kinds_and_sources() -> None:
    protocol = load_protocol("1")
    ids = [c.id for c in protocol.criteria]
    assert ids == [f"INC-0{i}" for i in range(1, 6)] + [f"EXC-0{i}" for i in range(1, 7)]
    for c in protocol.criteria:
        assert c.kind == ("inclusion" if c.id.startswith("INC") else "exclusion")
        assert c.text
        if c.kind == "exclusion":
            assert c.source == SISTER
        else:
            assert "NCT07295132" in c.source


def test_version_1_inclusion_5_is_decided_by_the_prediction() -> None:
    inc5 = load_protocol("1").criterion("INC-05")
    assert inc5.decided_by == "prediction"
    assert inc5.rule is None
    assert inc5.facts() == ()


def test_version_1_reads_only_known_facts() -> None:
    facts = load_protocol("1").facts()
    assert "platinum_free_interval_months" in facts
    assert "nact_response_gcig_ca125" in facts
    assert "ca125_at_recurrence_u_ml" not in facts


def test_unknown_criterion_id() -> None:
    with pytest.raises(KeyError):
        load_protocol("1").criterion("INC-99")


@pytest.mark.parametrize("version", ["99", "v1", "", "../eligibility-v1", "1.yaml"])
def test_unknown_version_raises_a_clear_error(version: str) -> None:
    with pytest.raises(UnknownProtocolVersionError, match=r"available: .*1") as exc:
        load_protocol(version)
    assert repr(version) in str(exc.value)
    assert isinstance(exc.value, LookupError)


def test_versions_are_naturally_ordered(protocol_dir: Path) -> None:
    for version in ("10", "2", "1", "2a"):
        (protocol_dir / f"eligibility-v{version}.yaml").write_text(_minimal(version))
    (protocol_dir / "README.md").write_text("not a protocol")
    (protocol_dir / "eligibility-v3.yml").write_text(_minimal("3"))
    assert available_versions() == ["1", "2", "2a", "10"]
    assert load_protocol("10").version == "10"


def test_file_declaring_another_version_is_rejected(protocol_dir: Path) -> None:
    (protocol_dir / "eligibility-v2.yaml").write_text(_minimal("1"))
    with pytest.raises(ProtocolConfigError, match="declares version '1'"):
        load_protocol("2")


def test_invalid_file_names_the_file(protocol_dir: Path) -> None:
    (protocol_dir / "eligibility-v2.yaml").write_text("trial: [unclosed\n")
    with pytest.raises(ProtocolConfigError, match=r"eligibility-v2\.yaml: invalid YAML"):
        load_protocol("2")


def test_parse_minimal_protocol() -> None:
    protocol = parse_protocol(_minimal())
    assert isinstance(protocol, Protocol)
    assert protocol.criteria[0].facts() == ("age_years",)


def test_unquoted_numeric_version_is_rejected() -> None:
    with pytest.raises(ProtocolConfigError):
        parse_protocol(_minimal().replace("'1'", "1"))


def test_yaml_is_loaded_safely() -> None:
    with pytest.raises(ProtocolConfigError, match="invalid YAML"):
        parse_protocol("!!python/object/apply:os.system ['true']\n")


@pytest.mark.parametrize(
    ("criteria_yaml", "message"),
    [
        ("  - {id: INC-01, kind: exclusion, text: x, source: s, rule: {fact: ecog, op: is_true}}\n",
         "is_true"),
        ("  - {id: INC-01, kind: exclusion, text: x, source: s,\n"
         "     rule: {fact: ecog, op: '<', value: 2}}\n", "prefix"),
        ("  - {id: INC-1, kind: inclusion, text: x, source: s,\n"
         "     rule: {fact: ecog, op: '<', value: 2}}\n", "pattern"),
        ("  - {id: INC-01, kind: inclusion, text: x, source: s}\n", "rule is required"),
        ("  - {id: INC-01, kind: inclusion, text: x, source: s, decided_by: prediction,\n"
         "     rule: {fact: ecog, op: '<', value: 2}}\n", "rule is required"),
        ("  - {id: EXC-01, kind: exclusion, text: x, source: s, decided_by: prediction}\n",
         "only an inclusion"),
        ("  - {id: INC-01, kind: inclusion, text: x, source: s, decided_by: prediction}\n"
         "  - {id: INC-02, kind: inclusion, text: x, source: s, decided_by: prediction}\n",
         "at most one"),
        ("  - {id: INC-01, kind: inclusion, text: x, source: s, rule: {fact: ecog, op: '<', "
         "value: 2}}\n"
         "  - {id: INC-01, kind: inclusion, text: y, source: s, rule: {fact: ecog, op: '<', "
         "value: 3}}\n", "duplicate criterion ids: INC-01"),
        ("  - {id: INC-01, kind: inclusion, text: '', source: s,\n"
         "     rule: {fact: ecog, op: '<', value: 2}}\n", "text"),
        ("  - {id: INC-01, kind: inclusion, text: x, rule: {fact: ecog, op: '<', value: 2}}\n",
         "source"),
        ("  - {id: INC-01, kind: inclusion, text: x, source: s, colour: red,\n"
         "     rule: {fact: ecog, op: '<', value: 2}}\n", "colour"),
        ("  []\n", "criteria"),
    ],
)
def test_invalid_protocols_are_rejected(criteria_yaml: str, message: str) -> None:
    with pytest.raises(ProtocolConfigError, match=message):
        parse_protocol(_minimal(criteria_yaml=criteria_yaml), origin="test.yaml")
