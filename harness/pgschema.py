"""Throw-away PostgreSQL schemas for tests that run on PostgreSQL as well as SQLite.

The server is MODEMGATE_TEST_POSTGRES (default: postgres at 127.0.0.1:5432, database
`test`; `.ci/run` makes sure it is up). PostgreSQL is not optional: when it cannot be
reached, the test fails and says so.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

POSTGRES_URL = os.environ.get("MODEMGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def schema_url(schema: str) -> str:
    """The test database's URL with `schema` as its search path."""
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def throwaway_schema(prefix: str = "mg_test") -> Iterator[str]:
    """A URL for a new, empty schema, dropped with everything in it afterwards."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is unreachable, and this test runs on it as well as on SQLite. "
            f"Start it (.ci/run does) or set MODEMGATE_TEST_POSTGRES. ({str(exc).splitlines()[0]})",
            pytrace=False,
        )
    try:
        yield schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
