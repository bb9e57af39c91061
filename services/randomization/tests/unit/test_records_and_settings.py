"""The domain's records mirror their tables column for column; the protocol version setting and
its former name."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import SQLModel

from rescue_randomization.adapters.repositories import TABLE_OF
from rescue_randomization.settings import RandomizationSettings


@pytest.mark.parametrize("record", list(TABLE_OF), ids=lambda r: r.__name__)
def test_each_record_has_exactly_the_columns_of_its_table(record: type) -> None:
    table = SQLModel.metadata.tables[str(TABLE_OF[record].__tablename__)]
    assert {f.name for f in dataclasses.fields(record)} == {c.name for c in table.columns}


def test_the_tables_keep_their_names() -> None:
    """chaos/stores.py reads these tables by name with raw SQL."""
    assert {str(t.__tablename__) for t in TABLE_OF.values()} == {
        "randomization_candidate", "randomization_pending_decision", "randomization_prediction",
        "randomization_trial", "randomization_stratum", "randomization_allocation",
        "randomization_audit_head", "randomization_audit_entry",
        "randomization_strata_verification"}


@pytest.mark.parametrize("variable", ["PROTOCOL_VERSION", "RANDOMIZATION_PROTOCOL_VERSION"])
def test_the_version_in_force_reads_either_setting(
    variable: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROTOCOL_VERSION", raising=False)
    monkeypatch.delenv("RANDOMIZATION_PROTOCOL_VERSION", raising=False)
    assert RandomizationSettings().protocol_version == "1"
    monkeypatch.setenv(variable, "2")
    assert RandomizationSettings().protocol_version == "2"
    assert RandomizationSettings(protocol_version="3").protocol_version == "3"
    assert RandomizationSettings(randomization_protocol_version="4").protocol_version == "4"
