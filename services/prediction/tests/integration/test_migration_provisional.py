"""Migration 0004 (provisional subjects, quarantine) on a database holding earlier subjects."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import text

from rescue_prediction.app import DEFINITION
from rescue_shared.db.engine import build_engine
from rescue_shared.db.migrations import alembic_config

pytestmark = pytest.mark.integration


async def migrate(database_url: str, action: str, revision: str) -> None:
    config = alembic_config(database_url, DEFINITION.migrations)
    await asyncio.to_thread(getattr(command, action), config, revision)


async def rows(database_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = build_engine(database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_screened_subjects_survive_and_provisional_ones_are_possible(
    database_url: str,
) -> None:
    await migrate(database_url, "upgrade", "0003")
    await rows(database_url, "INSERT INTO prediction_subject (subject_id, site_id, "
                             "latest_screening_id, latest_screening_outcome, clinical_facts, "
                             "screenings_seen, first_seen_at) VALUES ('S01-0001', 'S01', "
                             "'00000000-0000-0000-0000-000000000001', 'eligible', '{}', 1, "
                             "CURRENT_TIMESTAMP)")
    await migrate(database_url, "upgrade", "head")
    await rows(database_url, "INSERT INTO prediction_subject (subject_id, site_id, "
                             "clinical_facts, screenings_seen, first_seen_at) VALUES "
                             "('S01-0002', 'S01', '{}', 0, CURRENT_TIMESTAMP)")
    assert await rows(database_url, "SELECT subject_id, latest_screening_id FROM "
                                    "prediction_subject ORDER BY subject_id") == [
        ("S01-0001", "00000000-0000-0000-0000-000000000001"), ("S01-0002", None)]
    assert await rows(database_url, "SELECT count(*) FROM prediction_quarantined_input") == [(0,)]

    await migrate(database_url, "downgrade", "0003")
    assert await rows(database_url, "SELECT subject_id FROM prediction_subject") == [
        ("S01-0001",)]
    await migrate(database_url, "upgrade", "head")
