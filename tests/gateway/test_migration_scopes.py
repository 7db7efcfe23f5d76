"""The scopes migration (0008_scopes) on a database written by the revision before it: keys made before scopes hold every scope (so
integrations running on them keep working), keys made after hold `send` unless told; the
consent ledger gains the reason an opt-out from a STOP was lifted."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from gateway.core import apikeys
from gateway.core.db import MIGRATIONS, create_engine_for, migrate, session


def before_scopes() -> str:
    """The revision the scopes migration follows (found by what it says, not by its number)."""
    script = ScriptDirectory(str(MIGRATIONS))
    mine = next(r for r in script.walk_revisions() if "`api_key.scopes`" in (r.doc or ""))
    assert isinstance(mine.down_revision, str)
    return mine.down_revision


def test_scopes_migration_gives_existing_keys_every_scope_and_new_ones_send(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, before_scopes())
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO api_key (id, name, prefix, key_hash, created_at) VALUES "
            "(1, 'shop', 'abcd1234', 'h1', '2026-11-01 10:00:00')"
        ))  # fmt: skip
    migrate(engine, "head")
    with engine.begin() as conn:
        # A row written without naming its scopes (an older tool, by hand) gets the default.
        conn.execute(sa.text(
            "INSERT INTO api_key (id, name, prefix, key_hash, created_at) VALUES "
            "(2, 'raw', 'efgh5678', 'h2', '2026-11-02 10:00:00')"
        ))  # fmt: skip
        scopes = dict(conn.execute(sa.text("SELECT name, scopes FROM api_key")).all())
        columns = {c["name"] for c in sa.inspect(conn).get_columns("consent_record")}
    with session(engine) as s:
        _, made = apikeys.create(s, "new")
        s.commit()
    engine.dispose()
    assert scopes == {"shop": "send,marketing,admin", "raw": "send"}
    assert made.scopes == "send"
    assert "reason" in columns
