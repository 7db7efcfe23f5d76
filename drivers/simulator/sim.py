"""SIM state of a simulated modem: PIN and PUK (3GPP TS 27.007 §8.3), and registration.

Three wrong PINs ask for the PUK; ten wrong PUKs block the SIM for good (+CME ERROR: 13,
SIM failure, from then on). The `pin_required` fault locks a SIM that has no PIN of its
own; it then takes `DEFAULT_PIN`.
"""

from __future__ import annotations

from drivers.simulator.framing import CommandFailed
from drivers.simulator.profile import ModemProfile
from drivers.simulator.settings import Settings

__all__ = [
    "DEFAULT_PIN",
    "Sim",
    "registration_stat",
    "registration_urcs",
    "CMS_SIM_PIN_REQUIRED",
    "CMS_SIM_FAILURE",
    "CMS_SIM_PUK_REQUIRED",
    "CME_OP_NOT_ALLOWED",
    "CME_SIM_PIN_REQUIRED",
    "CME_SIM_PUK_REQUIRED",
    "CME_SIM_FAILURE",
    "CME_INCORRECT_PASSWORD",
]

# PIN of a SIM whose profile has none, when the `pin_required` fault makes it ask for one.
DEFAULT_PIN = "1234"

# 27.005 §3.2.5 / 27.007 §9.2 codes of SIM trouble.
CMS_SIM_PIN_REQUIRED = 311
CMS_SIM_FAILURE = 313
CMS_SIM_PUK_REQUIRED = 316
CME_OP_NOT_ALLOWED = 3
CME_SIM_PIN_REQUIRED = 11
CME_SIM_PUK_REQUIRED = 12
CME_SIM_FAILURE = 13
CME_INCORRECT_PASSWORD = 16

_PIN_TRIES = 3
_PUK_TRIES = 10


class Sim:
    """PIN / PUK state of one SIM (the PIN itself is the profile's, as the SIM keeps it)."""

    def __init__(self, profile: ModemProfile) -> None:
        self.profile = profile
        self.locked = profile.pin is not None  # with a PIN the SIM starts locked, as after power-on
        self.locked_by_fault = False
        self.puk_required = False
        self.pin_attempts = _PIN_TRIES
        self.puk_attempts = _PUK_TRIES

    def require(self, *, cms: bool = False) -> None:
        """Fail unless the SIM is ready (+CMS codes for message commands, else +CME)."""
        if self.puk_attempts <= 0:
            raise CommandFailed("CMS", CMS_SIM_FAILURE) if cms else CommandFailed("CME", CME_SIM_FAILURE)
        if self.puk_required:
            raise CommandFailed("CMS", CMS_SIM_PUK_REQUIRED) if cms else CommandFailed("CME", CME_SIM_PUK_REQUIRED)
        if self.locked:
            raise CommandFailed("CMS", CMS_SIM_PIN_REQUIRED) if cms else CommandFailed("CME", CME_SIM_PIN_REQUIRED)

    @property
    def blocked(self) -> bool:
        """Ten wrong PUKs: the SIM answers nothing any more."""
        return self.puk_attempts <= 0

    def code(self) -> str:
        """27.007 §8.3 <code> of AT+CPIN?."""
        if self.puk_required:
            return "SIM PUK"
        return "SIM PIN" if self.locked else "READY"

    def enter(self, args: list[str]) -> bool:
        """AT+CPIN=<pin> or AT+CPIN=<puk>,<newpin>. True when the SIM is now unlocked
        (the caller lifts the `pin_required` fault); raises for a wrong code."""
        if self.puk_required:
            if len(args) >= 2 and args[0] == self.profile.puk and args[1]:
                self.puk_required = self.locked = self.locked_by_fault = False
                self.profile.pin = args[1]
                self.pin_attempts = _PIN_TRIES
                self.puk_attempts = _PUK_TRIES
                return True
            self.puk_attempts -= 1
            raise CommandFailed("CME", CME_INCORRECT_PASSWORD if self.puk_attempts > 0 else CME_SIM_FAILURE)
        if not self.locked:
            raise CommandFailed("CME", CME_OP_NOT_ALLOWED)  # no PIN asked for
        if args[0] == (self.profile.pin if self.profile.pin is not None else DEFAULT_PIN):
            self.locked = self.locked_by_fault = False
            self.pin_attempts = _PIN_TRIES
            return True
        self.pin_attempts -= 1
        if self.pin_attempts <= 0:
            self.puk_required = True
        raise CommandFailed("CME", CME_INCORRECT_PASSWORD)

    def lock_for_fault(self) -> bool:
        """The `pin_required` fault: lock the SIM; False when it already asks for a code."""
        if self.locked or self.puk_required:
            return False
        self.locked = self.locked_by_fault = True
        return True

    def unlock_fault(self) -> None:
        """Faults cleared: a SIM locked only by the fault is ready again."""
        if self.locked_by_fault:
            self.locked = self.locked_by_fault = False

    def power_on(self) -> None:
        """After a restart a SIM with a PIN asks for it again (unless it wants its PUK)."""
        if self.profile.pin is not None and not self.puk_required:
            self.locked = True


def registration_stat(*, no_registration: bool, cfun: int) -> int:
    """27.007 §7.2 <stat>: 1 registered (home), 0 not registered and not searching."""
    return 0 if no_registration or cfun != 1 else 1


def registration_urcs(before: int, stat: int, settings: Settings) -> list[str]:
    """+CREG / +CGREG / +CEREG URCs for a registration change, per each one's <n>."""
    if stat == before:
        return []
    where = ',"0A1B","3799B"' if stat in (1, 5) else ""
    return [
        f"{tag}: {stat}{where if n == 2 else ''}"
        for n, tag in ((settings.creg, "+CREG"), (settings.cgreg, "+CGREG"), (settings.cereg, "+CEREG"))
        if n
    ]
