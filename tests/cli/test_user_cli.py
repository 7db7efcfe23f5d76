"""`modemgate user create NAME --role …` as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from gateway.core import accounts
from gateway.core.db import create_engine_for, session


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEMGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'users.db'}")


def test_create_reads_the_password_from_stdin_and_stores_only_a_hash(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["user", "create", "olga", "--role", "marketer"], input="a long enough secret\n")
    assert done.exit_code == 0, done.output
    engine = create_engine_for(f"sqlite:///{tmp_path / 'users.db'}")
    with session(engine) as s:
        user = accounts.find_user(s, "olga")
        assert user is not None and user.role == "marketer"
        assert "a long enough secret" not in user.password_hash and user.password_hash.startswith("scrypt$")
        assert accounts.verify_password("a long enough secret", user.password_hash)
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "password", "says"),
    [
        (["olga", "--role", "root"], "a long enough secret", "unknown role 'root'"),
        (["olga", "--role", "admin"], "short", "at least 10 characters"),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(tmp_path: Path, args: list[str], password: str, says: str) -> None:
    done = CliRunner().invoke(app, ["user", "create", *args], input=password + "\n")
    assert done.exit_code == 2 and says in done.output
    if (tmp_path / "users.db").exists():  # an unknown role is refused before the database is opened
        engine = create_engine_for(f"sqlite:///{tmp_path / 'users.db'}")
        with session(engine) as s:
            assert accounts.all_users(s) == []
        engine.dispose()


def test_a_taken_name_is_refused() -> None:
    first = CliRunner().invoke(app, ["user", "create", "olga", "--role", "admin"], input="a long enough secret\n")
    assert first.exit_code == 0
    again = CliRunner().invoke(app, ["user", "create", "olga", "--role", "viewer"], input="another long secret\n")
    assert again.exit_code == 2 and "exists" in again.output
