"""`modemgate backup FILE`: taken while the gateway sends, restored into a fresh directory,
it holds every message accepted before it began; PostgreSQL goes through pg_dump."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from gateway.core.backup import pg_dump_command
from gateway.core.db import create_engine_for, migrate
from harness.pgschema import throwaway_schema
from tests.support.api import running_api, settings_for


def test_backup_while_sending_restores_every_accepted_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "live" / "modemgate.db"
    live.parent.mkdir()
    monkeypatch.setenv("MODEMGATE_DATABASE_URL", f"sqlite:///{live}")
    accepted: list[str] = []
    stop = threading.Event()
    with running_api(settings_for(f"sqlite:///{live}")) as api:

        def keep_sending() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                accepted.append(api.gateway.submit(api_key_id=api.key_id, to="+31612345678", text=f"m{n}").message.id)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        try:
            while len(accepted) < 20:
                stop.wait(0.01)
            before = list(accepted)  # accepted (committed) before the backup begins
            done = CliRunner().invoke(app, ["backup", str(tmp_path / "copy.db")])
        finally:
            stop.set()
            sender.join()
        assert done.exit_code == 0, done.output
        assert "backed up" in done.output

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copyfile(tmp_path / "copy.db", fresh / "modemgate.db")  # the documented restore
    assert not (tmp_path / ".copy.db.partial").exists()
    with sqlite3.connect(fresh / "modemgate.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    engine = create_engine_for(f"sqlite:///{fresh / 'modemgate.db'}")
    migrate(engine)  # a restored copy starts like any database
    with engine.connect() as conn:
        restored = {row[0] for row in conn.execute(sa.text("SELECT id FROM message"))}
        partless = conn.execute(
            sa.text("SELECT count(*) FROM message m WHERE NOT EXISTS (SELECT 1 FROM part p WHERE p.message_id = m.id)")
        ).scalar_one()
    engine.dispose()
    assert set(before) <= restored
    assert restored <= set(accepted)
    assert partless == 0  # a consistent snapshot: no message without its parts


def test_backup_of_a_missing_database_fails_with_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEMGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'nothing.db'}")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["backup", str(tmp_path / "copy.db")])
    assert done.exit_code == 1
    assert "no database at" in done.output
    assert not (tmp_path / "copy.db").exists()


def test_postgresql_is_dumped_with_pg_dump_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed (Debian: postgresql-client); .ci/run installs PostgreSQL with it")
    with throwaway_schema("mg_backup") as url:
        engine = create_engine_for(url)
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO api_key (id, name, prefix, key_hash, created_at, scopes) "
                "VALUES (1, 'shop', 'abcd1234', 'h', now(), 'send')"
            ))  # fmt: skip
        engine.dispose()
        monkeypatch.setenv("MODEMGATE_DATABASE_URL", url)
        monkeypatch.chdir(tmp_path)
        done = CliRunner().invoke(app, ["backup", str(tmp_path / "pg.dump")])
        assert done.exit_code == 0, done.output
    listing = subprocess.run(["pg_restore", "--list", str(tmp_path / "pg.dump")], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    assert "TABLE DATA" in listing.stdout and " api_key " in listing.stdout
    assert pg_dump_command(url, tmp_path / "x")[-1] == "test"
