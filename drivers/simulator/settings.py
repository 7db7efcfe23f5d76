"""The volatile settings of a simulated modem: what ATZ / AT&F and a restart reset."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Settings"]


@dataclass
class Settings:
    """Volatile settings that ATZ / AT&F bring back to defaults."""

    echo: bool = True
    verbose: bool = True
    quiet: bool = False
    cmee: int = 0
    cmgf: int = 0
    cscs: str = "GSM"
    cnmi: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    creg: int = 0
    cgreg: int = 0
    cereg: int = 0
    csdh: int = 0
    cops_format: int = 0
    csmp: list[int] = field(default_factory=lambda: [17, 167, 0, 0])  # fo, vp, pid, dcs
