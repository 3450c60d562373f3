"""Migrations: an empty database reaches the newest revision, which matches the models exactly.

Run on SQLite and on a throwaway PostgreSQL (that parameter skips without a server). The
`alembic check` equivalent compares the migrated schema with `SQLModel.metadata` the way
`alembic revision --autogenerate` would; any difference means a model changed without a
migration (run `make migration-baseline` while nothing is released).
"""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from daemon.store.engine import alembic_config, open_engine, session_scope
from daemon.tables import Message

TABLES = {
    "auditevent",
    "cursor",
    "draft",
    "escalation",
    "message",
    "messagecontent",
    "messageparse",
    "messageref",
    "outbox",
    "quarantine",
    "ticket",
    "usage",
}


def head_revision(engine: Engine) -> str:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_diff(engine: Engine) -> list[Any]:
    """What autogenerate would still write: (op, ...) tuples, empty when models == schema."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, SQLModel.metadata))


@pytest.fixture
def engine(store_url: str) -> Any:
    eng = open_engine(store_url)
    yield eng
    eng.dispose()


def test_empty_database_migrates_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}


def test_every_model_table_is_migrated(engine: Engine) -> None:
    """Every table of the models is in the migrations (a new model without one fails here)."""
    assert set(SQLModel.metadata.tables) == TABLES


def test_migrated_schema_matches_models(engine: Engine) -> None:
    """The `alembic check` of this project: no difference between models and migrations."""
    assert schema_diff(engine) == []


def test_unique_and_indexed_columns_survive_migration(engine: Engine) -> None:
    insp = inspect(engine)
    uniques = {u["name"] for u in insp.get_unique_constraints("message")}
    assert "uq_message_source_key" in uniques
    indexed = {c for ix in insp.get_indexes("message") for c in ix["column_names"]}
    assert {"source", "state", "sha256", "message_id", "received_at"} <= indexed


def test_reopening_keeps_rows_and_revision(store_url: str) -> None:
    first = open_engine(store_url)
    with session_scope(first) as session:
        session.add(Message(source="inbox", source_key="k1", sha256="0" * 64, size=1))
    first.dispose()
    second = open_engine(store_url)  # migrating an up-to-date database is a no-op
    try:
        assert current_revision(second) == head_revision(second)
        with second.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM message")).scalar_one() == 1
    finally:
        second.dispose()


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    from alembic import command

    cfg = alembic_config(engine)
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None
    command.upgrade(cfg, "head")
    assert current_revision(engine) == head_revision(engine)
    assert schema_diff(engine) == []
