"""How a test or a benchmark runs `modemgate` as a process of its own."""

from __future__ import annotations

import sys
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("modemgate")
# The console script beside this Python (pip install -e .), else the same entry point
# through this Python, so a checkout that was not installed still runs.
MODEMGATE: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from cli import main; main()"]
