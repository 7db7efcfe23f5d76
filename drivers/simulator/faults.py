"""Faults a simulated modem can be told to show, the way real ones fail in the field."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

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
    - `hang_until_reset`: the same, except that `AT+CFUN=1,1` still resets the modem,
      which comes back healthy (a stuck SMS stack under a firmware that obeys a reset).
    - `disconnect`: the port goes away (TCP connection closed / pty hung up) and stays
      away until cleared, like a modem that dropped off the USB bus.
    - `slow`: seconds added before every answer.
    - `garbage`: bytes of line noise written before every answer.
    - `no_registration`: not registered (`+CREG: 0,0`), sends fail with CMS 331.
    - `pin_required`: the SIM asks for its PIN again (as after a power cycle): the
      profile's PIN, or `1234` when it has none. Reads true until the PIN is entered.
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
    hang_until_reset: bool = False
    disconnect: bool = False
    slow: float = 0.0
    garbage: bytes = b""
    no_registration: bool = False
    pin_required: bool = False
    report: str = "delivered"
    report_delay: float = 0.0
    submit_delay: float = 0.0
    _sends_seen: int = field(default=0, repr=False)

    @property
    def silent(self) -> bool:
        """Answers nothing (either hang fault)."""
        return self.hang or self.hang_until_reset

    def update(self, values: dict[str, Any]) -> None:
        """Apply settings from a control request. An unknown name or a value of the wrong
        type is a ConfigError, and then nothing is changed."""
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        checked = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            checked[name] = _checked(name, value)
        for name, value in checked.items():
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

    def error_for_send(self) -> tuple[Literal["CMS", "CME"], int] | None:
        """Count one AT+CMGS and say whether it must fail, and how."""
        self._sends_seen += 1
        n = self._sends_seen
        if self.cms_error is not None and n >= self.cms_error_on_send:
            if self.cms_error_count == 0 or n < self.cms_error_on_send + self.cms_error_count:
                return ("CMS", self.cms_error)
        if self.cme_error is not None and n == self.cme_error_on_send:
            return ("CME", self.cme_error)
        return None


_REPORTS = ("delivered", "temporary", "permanent", "none")


def _checked(name: str, value: Any) -> Any:
    """`value` as the type fault `name` takes, or ConfigError."""
    if name in ("hang", "hang_until_reset", "disconnect", "no_registration", "pin_required"):
        if not isinstance(value, bool):
            raise ConfigError(f"fault {name} takes true or false, not {value!r}")
        return value
    if name in ("cms_error", "cme_error"):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            raise ConfigError(f"fault {name} takes an error code (0-65535) or null, not {value!r}")
        return value
    if name in ("cms_error_on_send", "cme_error_on_send", "cms_error_count"):
        low = 0 if name == "cms_error_count" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"fault {name} takes a whole number >= {low}, not {value!r}")
        return value
    if name in ("slow", "report_delay", "submit_delay"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
            raise ConfigError(f"fault {name} takes seconds (0-3600), not {value!r}")
        return float(value)
    if name == "garbage":
        if isinstance(value, str):
            try:
                return value.encode("latin-1")
            except UnicodeEncodeError:
                raise ConfigError("fault garbage takes bytes 0-255 (a latin-1 string)") from None
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise ConfigError(f"fault garbage takes a string of bytes, not {value!r}")
    if name == "report":
        if value not in _REPORTS:
            raise ConfigError(f"fault report takes {', '.join(_REPORTS)}, not {value!r}")
        return value
    return value
