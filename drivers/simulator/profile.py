"""Identity, memory sizes and vendor habits of one simulated modem and its SIM."""

from __future__ import annotations

from dataclasses import dataclass

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
    # A recorded device to answer like (`replay.py`): its answers come first, these
    # fields answer what it does not hold.
    replay: Replay | None = None

    def __post_init__(self) -> None:
        self.refuse = frozenset(name.upper() for name in self.refuse)
        self.boot_urcs = tuple(self.boot_urcs)
        self.ati = tuple(self.ati)
        self.noise_urcs = tuple(self.noise_urcs)
        if self.noise_interval < 0:
            raise ValueError(f"noise_interval must be >= 0, not {self.noise_interval}")
