"""`modemgate send` refuses what the API would refuse before it connects."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app


@pytest.mark.parametrize("text", ["", "   ", " \n\t "])
def test_send_refuses_blank_text_without_connecting(text: str) -> None:
    # Port 9 (discard) on loopback: were it to connect, the error would name the URL instead.
    done = CliRunner().invoke(
        app, ["send", "--to", "+31612345678", "--key", "mg_x", "--url", "http://127.0.0.1:9", "--", text]
    )
    assert done.exit_code == 2
    assert "empty or only whitespace" in done.output and "127.0.0.1:9" not in done.output
