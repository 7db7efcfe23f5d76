"""Identity, memory sizes and vendor habits of one simulated modem and its SIM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drivers.simulator.replay import Replay

__all__ = ["ModemProfile"]


@dataclass
class ModemProfile:
    """Identity, memory sizes and vendor habits of one simulated modem and its SIM. The
    defaults are a Huawei E173 with clean output; `personalities.py` names other presets."""

    manufacturer: str = "huawei"
    model: str = "E173"
    revision: str = "11.126.85.00.209"
    imei: str = "353142041234560"
    imsi: str = "204081234567890"
    iccid: str = "8931081234567890123"
    number: str = "+31612000001"
    operator: str = "SimNet"
    operator_numeric: str = "20408"
    pin: str | None = None  # with a PIN the SIM starts locked, as after power-on
    # The SMSC stored on the SIM (AT+CSCA?); None: the network's. "" is a SIM without one,
    # as some prepaid SIMs come: every send then fails until it is set.
    smsc: str | None = None
    puk: str = "12345678"
    rssi: int = 20  # AT+CSQ 0..31
    sm_capacity: int = 30
    me_capacity: int = 100
    mr_start: int = 0
    # Unsolicited lines after a restart (AT+CFUN=1,1); Huawei sticks announce SIM and service.
    boot_urcs: tuple[str, ...] = ("^SIMST:1", "^SRVST:2")
    # ATI lines; empty means Huawei's layout, built from the fields above.
    ati: tuple[str, ...] = ()
    # Final result for a command the firmware does not know (Huawei: COMMAND NOT SUPPORT).
    unsupported_final: str = "ERROR"
    # Command names this model lacks ("+CMMS", "^CURC", "&V"): answered as unknown.
    refuse: frozenset[str] = frozenset()
    # Unsolicited lines sent in turn every `noise_interval` seconds while the line is idle
    # (Huawei ^RSSI, ^DSFLOWRPT, ^MODE); 0 means none.
    noise_urcs: tuple[str, ...] = ()
    noise_interval: float = 0.0
    # Every other periodic line comes inside the next answer instead, right after the echo
    # (or before +CMGS, after the PDU), as Huawei sticks' ^RSSI does.
    noise_in_answers: bool = False
    # AT+CNMI values accepted for <mode>,<mt>,<bm>,<ds>,<bfr>; AT+CNMI=? shows them. A
    # SIM800 lacks <ds>=2 (status reports stored, +CDSI): only routed (+CDS) or none.
    cnmi_choices: tuple[tuple[int, ...], ...] = ((0, 1, 2), (0, 1, 2, 3), (0, 2), (0, 1, 2), (0, 1))
    # +CMS ERROR code for an AT+CNMI value not in `cnmi_choices` (Cinterion: 538).
    cnmi_refusal: int = 303
    # Memories AT+CPMS takes (read, write, receive); more are answered with a plain ERROR.
    cpms_memories: int = 3
    # AT+CPMS=? answer when the model words it its own way; None: the 27.005 form.
    cpms_test: str | None = None
    # Read commands answered without a final result (Wavecom: "+CPIN"; gammu's F_CPIN_NO_OK).
    no_final: frozenset[str] = frozenset()
    # Seconds after start-up (its first command after power-on, and AT+CFUN=1) during which
    # the model answers `busy_error` to `busy_commands` (empty: every extended command but
    # AT+CMEE and AT+CFUN); 0 means never busy.
    busy_after_power_on: float = 0.0
    busy_error: tuple[Literal["CMS", "CME"], int] = ("CME", 14)
    busy_commands: frozenset[str] = frozenset()
    # Unsolicited lines the model slips into its answers, one per answer in turn, right
    # after the echo (Huawei's ^NWTIME and the like); empty means none.
    answer_noise: tuple[str, ...] = ()
    # A recorded device to answer like (`replay.py`): its answers come first, these
    # fields answer what it does not hold.
    replay: Replay | None = None

    def __post_init__(self) -> None:
        self.refuse = frozenset(name.upper() for name in self.refuse)
        self.no_final = frozenset(name.upper() for name in self.no_final)
        self.busy_commands = frozenset(name.upper() for name in self.busy_commands)
        self.answer_noise = tuple(self.answer_noise)
        if not 1 <= self.cpms_memories <= 3:
            raise ValueError(f"cpms_memories must be 1, 2 or 3, not {self.cpms_memories}")
        if self.busy_after_power_on < 0:
            raise ValueError(f"busy_after_power_on must be >= 0, not {self.busy_after_power_on}")
        self.boot_urcs = tuple(self.boot_urcs)
        self.ati = tuple(self.ati)
        self.noise_urcs = tuple(self.noise_urcs)
        if self.noise_interval < 0:
            raise ValueError(f"noise_interval must be >= 0, not {self.noise_interval}")
