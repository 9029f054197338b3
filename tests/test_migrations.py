"""The migrations build the schema of the models from nothing, take it away again, and build it
once more, on both databases, each in a throw-away database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from tests.conftest import BACKENDS
from tests.core.scratch import scratch_database
from wenming.core.db import sync_url
from wenming.core.migrate import alembic_config, downgrade, upgrade
from wenming.models import Base

MODEL_TABLES = {
    "admin_unit",
    "unit_closure",
    "department",
    "department_closure",
    "org_version",
    "app_user",
    "role_assignment",
    "auth_session",
    "api_key",
    "login_throttle",
    "geo_boundary",
    "geo_grid",
    "geo_grid_worker",
    "geo_location_type",
    "geo_point",
    "geo_component",
    "geo_spatial_version",
    "gaz_road",
    "gaz_door_plate",
    "gaz_place",
    "gaz_name",
    "attachment",
    "notification",
    "notification_outbox",
    "case_calendar_day",
    "case_category",
    "case_category_class",
    "case_reference_version",
    "case_sweep_run",
    "case_time_limit",
    "case_routing_rule",
    "case_verify_rule",
    "case_record",
    "case_deadline",
    "case_event",
    "case_follower",
    "case_idempotency",
    "case_attachment",
    "eval_index_version",
    "eval_project",
    "eval_content",
    "eval_item",
    "eval_item_location_type",
    "eval_category",
    "eval_year",
    "eval_round",
    "eval_method_weight",
    "eval_cycle",
    "eval_cycle_year",
    "eval_participant",
    "eval_absent_type",
    "eval_score",
    "eval_round_total",
    "eval_sampling_plan",
    "eval_sampled_point",
    "eval_check_result",
    "eval_survey_result",
    "eval_rectification",
    "eval_material_evidence",
    "eval_material_review",
    "case_reporter_key",
    "case_rating",
    "patrol",
    "patrol_point",
}
# SQLite's FTS5 index of the gazetteer names: a virtual table and its shadow tables, created by
# the gazetteer migration on SQLite only and not described by any model.
SEARCH_INDEX_TABLES = {
    "gaz_name_fts",
    "gaz_name_fts_data",
    "gaz_name_fts_idx",
    "gaz_name_fts_docsize",
    "gaz_name_fts_config",
}
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database: a fresh SQLite file, or a temporary PostgreSQL database."""
    with scratch_database(request.param, "mig", tmp_path) as url:
        yield url


def tables_and_version(url: str) -> tuple[set[str], list[str]]:
    """The tables of a database and the revisions Alembic has recorded in it."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            versions = (
                [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
                if "alembic_version" in tables
                else []
            )
        return tables - {"alembic_version"} - SEARCH_INDEX_TABLES, versions
    finally:
        engine.dispose()


def schema_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the models."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _parent: (
                        kind != "table" or name not in SEARCH_INDEX_TABLES
                    ),
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    assert tables_and_version(empty_database) == (set(), [])

    upgrade(empty_database)
    assert tables_and_version(empty_database) == (MODEL_TABLES, [HEAD])
    assert schema_differences(empty_database) == []

    downgrade(empty_database, "base")
    assert tables_and_version(empty_database) == (set(), [])

    upgrade(empty_database)
    assert tables_and_version(empty_database) == (MODEL_TABLES, [HEAD])
    assert schema_differences(empty_database) == []


def test_every_model_table_is_migrated() -> None:
    assert set(Base.metadata.tables) == MODEL_TABLES
