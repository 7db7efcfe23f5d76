"""While the database cannot take writes: 503 with Retry-After for new work, not ready; then back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.core import db
from tests.support.api import Api, assert_error, wait_for


@pytest.fixture
def short_busy_timeout(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock held longer than the busy timeout, in a tenth of a second instead of 30 s."""
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    api.gateway.engine.dispose()  # connections opened from now on wait 100 ms


def test_a_database_locked_too_long_answers_503_with_retry_after_and_is_not_ready(
    api: Api, short_busy_timeout: None, tmp_path: Path
) -> None:
    assert api.client.get("/readyz").status_code == 200
    other = sqlite3.connect(tmp_path / "modemgate.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock ...
    try:
        response = api.post("/v1/messages", json={"to": "+31612345678", "text": "hello"})
        error = assert_error(response, 503, "storage_unavailable")
        assert int(response.headers["Retry-After"]) > 0
        assert "locked" in error["message"]
        ready = assert_error(api.client.get("/readyz"), 503, "not_ready")
        assert any(p.startswith("storage:") for p in ready["problems"]), ready
        assert api.get("/v1/messages").status_code == 200  # reading still works
        assert api.client.get("/metrics").status_code == 200
        assert all(m["state"] == "ready" for m in api.modems().values())  # not the modems' fault
    finally:
        other.execute("ROLLBACK")  # ... and lets go
        other.close()
    wait_for(lambda: api.client.get("/readyz").status_code == 200, 10, "ready again")
    message = api.send("after the lock")
    assert api.wait_delivered(message["id"])["status"] == "delivered"
