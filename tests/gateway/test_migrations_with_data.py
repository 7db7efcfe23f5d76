"""Upgrades from every earlier schema version, with a row in every table it had: the newest
schema keeps each row and the tables read as the models describe them (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from gateway.core.db import MIGRATIONS, create_engine_for, migrate
from gateway.core.models import metadata
from harness.pgschema import throwaway_schema

_SCRIPT = ScriptDirectory(str(MIGRATIONS))
HEAD = _SCRIPT.get_current_head()
EARLIER = sorted(r.revision for r in _SCRIPT.walk_revisions() if r.revision != HEAD)
# A closed set of words, as SQLite keeps it (`kind IN ('a', 'b')`) and as PostgreSQL gives it
# back (`(kind)::text = ANY ((ARRAY['a'::character varying, …`).
_CHOICE = re.compile(r"\(?(\w+)\)?(?:::text)?\s+(?:IN\s*\(|=\s*ANY\s*\(+ARRAY\[)\s*'([^']*)'", re.IGNORECASE)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with throwaway_schema("mg_upgrade") as url:
        yield url


# The oldest version (the longest way up) in the quick loop; the others, a second or two
# each on PostgreSQL, with the slow tests.
@pytest.mark.parametrize(
    "revision", [r if r == EARLIER[0] else pytest.param(r, marks=pytest.mark.slow) for r in EARLIER]
)
def test_upgrade_from_each_earlier_version_keeps_every_row(database_url: str, revision: str) -> None:
    engine = create_engine_for(database_url)
    try:
        migrate(engine, revision)
        with engine.begin() as conn:
            filled = _fill_every_table(conn)
        migrate(engine, "head")
        with engine.connect() as conn:
            counts = {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in filled}
            for table in metadata.sorted_tables:  # every column the models name is there and readable
                conn.execute(sa.select(table)).all()
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert version == HEAD
    assert filled and counts == {t: 1 for t in filled}


def _fill_every_table(conn: sa.Connection) -> list[str]:
    """One row in every table of the schema as it is (reflected), parents first."""
    reflected = sa.MetaData()
    reflected.reflect(conn)
    inspector = sa.inspect(conn)
    ids: dict[str, Any] = {}
    filled = []
    for table in reflected.sorted_tables:
        if table.name == "alembic_version":
            continue
        choices = {
            m.group(1): m.group(2)
            for check in inspector.get_check_constraints(table.name)
            if (m := _CHOICE.search(str(check.get("sqltext", ""))))
        }
        row = {}
        for column in table.columns:
            if column.foreign_keys:
                parent = next(iter(column.foreign_keys)).column.table.name
                if parent in ids:
                    row[column.name] = ids[parent]
                    continue
            if column.nullable and not column.primary_key:
                continue
            if column.server_default is not None:
                continue
            row[column.name] = choices.get(column.name) or _value(column)
        conn.execute(table.insert().values(**row))
        pk = [c for c in table.primary_key.columns]
        if len(pk) == 1:
            ids[table.name] = row.get(pk[0].name, 1)
        filled.append(table.name)
    return filled


def _value(column: sa.Column) -> Any:
    kind = column.type
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Float | sa.Numeric):
        return 1.0
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    if isinstance(kind, sa.String) and kind.length and kind.length < 36:
        return "x" * min(kind.length, 8)
    if column.name == "id":
        return "00000000-0000-4000-8000-000000000001"
    return "x1"
