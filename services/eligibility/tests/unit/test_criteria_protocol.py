"""Protocol files: the shipped version 1, eligibility's files through the shared loader, and
validation of protocol structure."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml
from eligibility_fakes import FakeEligibilityUnitOfWork

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_eligibility.domain.criteria import Protocol, ProtocolConfigError, parse_protocol
from rescue_eligibility.service_layer.criteria import protocol_of_version
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.errors import NotFound
from rescue_shared.protocols import ProtocolFileError, ProtocolFiles

SISTER = "adopted from sister trials DESKTOP III / SOC-1, not public for RESCUE"


@pytest.fixture
def protocol_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the loader at a temporary directory of protocol files."""
    monkeypatch.setattr(resources, "files", lambda _package: tmp_path)
    return tmp_path


def files_in_dir() -> ProtocolFiles[Protocol]:
    """Eligibility's loader, read afresh (the shipped one keeps what it has read)."""
    return ProtocolFiles(PROTOCOL_FILES.package, PROTOCOL_FILES.stem, parse_protocol)


def _minimal(version: str = "1", criteria_yaml: str | None = None) -> str:
    body = criteria_yaml or (
        "  - {id: INC-01, kind: inclusion, text: Adult., source: test,\n"
        "     rule: {fact: age_years, op: '>=', value: 19}}\n"
    )
    return f"trial: TEST\nversion: '{version}'\ncriteria:\n{body}"


def test_version_1_is_available_and_loads() -> None:
    assert "1" in PROTOCOL_FILES.available_versions()
    protocol = PROTOCOL_FILES.load("1")
    assert protocol.version == "1"
    assert "NCT07295132" in protocol.trial
    assert PROTOCOL_FILES.load("1") is protocol


def test_version_1_criteria_ids_kinds_and_sources() -> None:
    protocol = PROTOCOL_FILES.load("1")
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
    inc5 = PROTOCOL_FILES.load("1").criterion("INC-05")
    assert inc5.decided_by == "prediction"
    assert inc5.rule is None
    assert inc5.facts() == ()


def test_version_1_reads_only_known_facts() -> None:
    facts = PROTOCOL_FILES.load("1").facts()
    assert "platinum_free_interval_months" in facts
    assert "nact_response_gcig_ca125" in facts
    assert "ca125_at_recurrence_u_ml" not in facts


def test_unknown_criterion_id() -> None:
    with pytest.raises(KeyError):
        PROTOCOL_FILES.load("1").criterion("INC-99")


@pytest.mark.parametrize("version", ["99", "v1", "", "../eligibility-v1", "1.yaml"])
def test_unknown_version_raises_a_clear_error(version: str) -> None:
    with pytest.raises(NotFound, match=r"available: .*1") as exc:
        protocol_of_version(FakeEligibilityUnitOfWork(), version)
    assert repr(version) in str(exc.value)


def test_the_version_in_force_is_a_setting_checked_when_it_is_read() -> None:
    assert EligibilitySettings().protocol_version == "1"
    assert EligibilitySettings(protocol_version="1").protocol_version == "1"
    with pytest.raises(ValueError, match=r"no protocol file eligibility-v7\.yaml \(available: 1\)"):
        EligibilitySettings(protocol_version="7")


def test_file_declaring_another_version_is_rejected(protocol_dir: Path) -> None:
    (protocol_dir / "eligibility-v2.yaml").write_text(_minimal("1"))
    with pytest.raises(ProtocolFileError, match="declares version '1'"):
        files_in_dir().load("2")


def test_invalid_file_names_the_file(protocol_dir: Path) -> None:
    (protocol_dir / "eligibility-v2.yaml").write_text("trial: [unclosed\n")
    with pytest.raises(ProtocolFileError, match=r"eligibility-v2\.yaml is not valid YAML"):
        files_in_dir().load("2")


def test_an_invalid_protocol_file_names_the_file_and_the_rule(protocol_dir: Path) -> None:
    (protocol_dir / "eligibility-v2.yaml").write_text(_minimal("2", "  []\n"))
    with pytest.raises(ProtocolFileError, match=r"(?s)eligibility-v2\.yaml is invalid: .*criteria"):
        files_in_dir().load("2")


def test_yaml_is_loaded_safely(protocol_dir: Path) -> None:
    (protocol_dir / "eligibility-v2.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(ProtocolFileError, match="not valid YAML"):
        files_in_dir().load("2")


def test_parse_minimal_protocol() -> None:
    protocol = parse_protocol(yaml.safe_load(_minimal()))
    assert isinstance(protocol, Protocol)
    assert protocol.criteria[0].facts() == ("age_years",)


def test_unquoted_numeric_version_is_rejected() -> None:
    with pytest.raises(ProtocolConfigError):
        parse_protocol(yaml.safe_load(_minimal().replace("'1'", "1")))


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
        parse_protocol(yaml.safe_load(_minimal(criteria_yaml=criteria_yaml)), origin="test.yaml")
