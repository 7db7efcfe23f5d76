"""Faults a simulated modem can be told to show, the way real ones fail in the field."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from drivers._exceptions import ConfigError

__all__ = ["Faults"]


@dataclass
class Faults:
    """Current fault settings of one simulated modem; all off by default.

    - `cms_error` / `cms_error_on_send` / `cms_error_count`: answer `+CMS ERROR: <code>`
      to the n-th AT+CMGS from now (1 = the next one), for `count` sends in a row
      (0 = every send from then on).
    - `cme_error` / `cme_error_on_send`: the same with `+CME ERROR`.
    - `hang`: read everything, answer nothing (a wedged firmware).
    - `disconnect`: the port goes away (TCP connection closed / pty hung up) and stays
      away until cleared, like a modem that dropped off the USB bus.
    - `slow`: seconds added before every answer.
    - `garbage`: bytes of line noise written before every answer.
    - `no_registration`: not registered (`+CREG: 0,0`), sends fail with CMS 331.
    - `pin_required`: the SIM asks for its PIN again (as after a power cycle).
    - `report`: status report outcome for messages sent from now on:
      `delivered`, `temporary`, `permanent` or `none`.
    - `report_delay`: seconds between the submit and its status report.
    - `submit_delay`: seconds the network takes to answer AT+CMGS.
    """

    cms_error: int | None = None
    cms_error_on_send: int = 1
    cms_error_count: int = 1
    cme_error: int | None = None
    cme_error_on_send: int = 1
    hang: bool = False
    disconnect: bool = False
    slow: float = 0.0
    garbage: bytes = b""
    no_registration: bool = False
    pin_required: bool = False
    report: str = "delivered"
    report_delay: float = 0.0
    submit_delay: float = 0.0
    _sends_seen: int = field(default=0, repr=False)

    def update(self, values: dict[str, Any]) -> None:
        """Apply settings from a control request; unknown names are a ConfigError."""
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            if name == "garbage" and isinstance(value, str):
                value = value.encode("latin-1")
            if name == "report" and value not in ("delivered", "temporary", "permanent", "none"):
                raise ConfigError("report must be delivered, temporary, permanent or none")
            setattr(self, name, value)
            if name in ("cms_error", "cme_error", "cms_error_on_send", "cme_error_on_send"):
                self._sends_seen = 0

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        out["garbage"] = self.garbage.decode("latin-1")
        return out

    def error_for_send(self) -> tuple[str, int] | None:
        """Count one AT+CMGS and say whether it must fail, and how."""
        self._sends_seen += 1
        n = self._sends_seen
        if self.cms_error is not None and n >= self.cms_error_on_send:
            if self.cms_error_count == 0 or n < self.cms_error_on_send + self.cms_error_count:
                return ("CMS", self.cms_error)
        if self.cme_error is not None and n == self.cme_error_on_send:
            return ("CME", self.cme_error)
        return None
