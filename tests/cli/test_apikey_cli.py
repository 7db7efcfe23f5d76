"""`modemgate apikey create / list / revoke` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from gateway.core import apikeys
from gateway.core.db import create_engine_for


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEMGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")


def run(*args: str, cwd: Path, ok: bool = True):
    done = CliRunner().invoke(app, ["apikey", *args])
    assert (done.exit_code == 0) == ok, done.output
    return done


def test_a_key_is_shown_once_listed_by_prefix_and_revoked(tmp_path: Path) -> None:
    key = run("create", "shop", cwd=tmp_path).stdout.strip()
    prefix = apikeys.parse_prefix(key)
    assert prefix is not None
    listing = run("list", cwd=tmp_path).stdout
    assert f"{prefix}  shop" in listing and "active" in listing and key.split("_", 2)[2] not in listing

    run("revoke", key, cwd=tmp_path)  # the whole key works as well as its prefix
    assert "revoked" in run("list", cwd=tmp_path).stdout
    engine = create_engine_for(f"sqlite:///{tmp_path / 'keys.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT revoked_at IS NOT NULL FROM api_key")).scalar_one() == 1
    engine.dispose()

    missing = run("revoke", "zzzzzzzz", cwd=tmp_path, ok=False)
    assert missing.exit_code == 2 and "no API key with prefix 'zzzzzzzz'" in missing.output


def test_scopes_are_chosen_at_creation_listed_and_default_to_send(tmp_path: Path) -> None:
    default = apikeys.parse_prefix(run("create", "sender", cwd=tmp_path).stdout.strip())
    chosen = run("create", "marketing-app", "--scope", "marketing", "--scope", "SEND", cwd=tmp_path)
    operator = apikeys.parse_prefix(run("create", "ops", "--scope", "admin", cwd=tmp_path).stdout.strip())
    assert "scopes send,marketing" in chosen.stderr
    listing = run("list", cwd=tmp_path).stdout.splitlines()
    assert f"{default}  sender  scopes send  " in listing[0]
    assert "marketing-app  scopes send,marketing  " in listing[1]
    assert f"{operator}  ops  scopes admin  " in listing[2]

    unknown = run("create", "x", "--scope", "root", cwd=tmp_path, ok=False)
    assert unknown.exit_code == 2 and "unknown scope 'root'" in unknown.output
    assert len(run("list", cwd=tmp_path).stdout.splitlines()) == 3  # nothing made
