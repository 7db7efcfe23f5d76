"""Named personalities: `ModemProfile` presets that answer like particular modem models.

Each preset sets what the model reports about itself (AT+CGMI, AT+CGMM, AT+CGMR, ATI),
what it prints after a restart, its final result for unknown commands, the vendor
commands it lacks, and the unsolicited lines it sends unasked (see hardware.md, section 1).
Identity strings follow the vendors' AT manuals and firmware names seen in the field.

`noise_urcs` lists what a model sends when it is chatty. Huawei sticks are chatty out of
the box (`^RSSI` every few seconds); SIMCom and Quectel modules only after a setting
(`AT+CLTS=1`, `AT+QINDCFG`), so their presets keep `noise_interval` at 0 and tests turn it
on with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from drivers._exceptions import ConfigError
from drivers.simulator.modem import ModemProfile

__all__ = ["DEFAULT_PERSONALITY", "PERSONALITIES", "personality"]

DEFAULT_PERSONALITY = "huawei-e173"

# Huawei proprietary commands; other makers answer them as unknown.
_HUAWEI_ONLY = frozenset({"^CPIN", "^ICCID", "^CURC", "^PORTSEL"})

# Seconds between Huawei's periodic indications ("every few seconds", hardware.md).
_HUAWEI_NOISE_INTERVAL = 3.0

# Huawei ^DSFLOWRPT: connection time, tx/rx rate, tx/rx bytes, QoS tx/rx rate, in hex.
_DSFLOWRPT = "^DSFLOWRPT:0000003C,00000000,00000000,0000000000000000,0000000000000000,0003E800,0003E800"

# What every Huawei stick does: its own final result for unknown commands, and chatty
# periodic lines, some of them inside answers.
_HUAWEI: dict[str, Any] = dict(
    unsupported_final="COMMAND NOT SUPPORT",
    noise_interval=_HUAWEI_NOISE_INTERVAL,
    noise_in_answers=True,
)

_PRESETS: dict[str, dict[str, Any]] = {
    # The simulator's identity since the start: a 3G (WCDMA) stick.
    "huawei-e173": dict(
        _HUAWEI,
        noise_urcs=("^RSSI:20", _DSFLOWRPT, "^MODE:5,4", "^BOOT:20952418,0,0,0,75"),
    ),
    # LTE stick with "stick" (not HiLink) firmware 21.x.
    "huawei-e3372": dict(
        _HUAWEI,
        model="E3372",
        revision="21.180.01.00.00",
        noise_urcs=("^RSSI:20", '^HCSQ:"LTE",50,43,150,25', _DSFLOWRPT),
    ),
    # 2G module on a UART board; AT+CGMR carries its own "Revision:" label.
    "simcom-sim800": dict(
        manufacturer="SIMCOM_Ltd",
        model="SIMCOM_SIM800",
        revision="Revision:1418B04SIM800L24",
        ati=("SIM800 R14.18",),
        boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
        refuse=_HUAWEI_ONLY,
        cnmi_choices=((0, 1, 2, 3), (0, 1, 2, 3), (0, 2), (0, 1), (0, 1)),  # no stored reports
        # Network time after AT+CLTS=1.
        noise_urcs=('*PSUTTZ: 2026,3,14,15,9,26,"+4",0', "DST: 0"),
    ),
    # LTE module on USB (if02 AT port).
    "quectel-ec25": dict(
        manufacturer="Quectel",
        model="EC25",
        revision="EC25EFAR06A11M4G",
        ati=("Quectel", "EC25", "Revision: EC25EFAR06A11M4G"),
        boot_urcs=("RDY", "+CPIN: READY", "+QIND: SMS DONE", "+QIND: PB DONE"),
        refuse=_HUAWEI_ONLY,
        # Signal and access technology after AT+QINDCFG="csq",1 / "act",1.
        noise_urcs=('+QIND: "csq",20,99', '+QIND: "act","LTE"'),
    ),
}

# Models whose habits broke clients that expect the textbook answers (docs/modem-quirks.md).
_PRESETS.update(
    {
        # Old serial modem (python-gsmmodem's fake "Multiband 900E 1800"; gammu marks it
        # F_CPIN_NO_OK): AT+CPIN? without OK, two memories in AT+CPMS offered as a nested
        # list, no AT+CGMR, and +CME ERROR: 515 for a while after start-up and AT+CFUN=1.
        "wavecom-multiband": dict(
            manufacturer=" WAVECOM MODEM",
            model=" MULTIBAND  900E  1800",
            revision="",
            ati=("WAVECOM MODEM",),
            boot_urcs=("+WIND: 3", "+WIND: 1"),
            refuse=_HUAWEI_ONLY | {"+CGMR", "+GMR", "+CLAC", "+CMMS"},
            no_final={"+CPIN"},
            cpms_memories=2,
            cpms_test='+CPMS: (("SM","BM","SR"),("SM"))',
            sm_capacity=50,
            busy_after_power_on=1.0,
            busy_error=("CME", 515),
        ),
        # A Nokia phone on its USB cable: AT+CMGL answers a plain ERROR, code or not.
        "nokia-phone": dict(
            manufacturer="Nokia",
            model="Nokia 6230i",
            revision="V 03.88",
            ati=("Nokia",),
            boot_urcs=(),
            refuse=_HUAWEI_ONLY | {"+CMGL", "+CMMS"},
        ),
        # 3G stick with firmware that slips unsolicited lines (network time, signal, mode,
        # boot) into the middle of answers, as gammu's AT test data shows for ^NWTIME.
        "huawei-e3131": dict(
            _HUAWEI,
            model="E3131",
            revision="21.158.13.00.00",
            noise_urcs=(),
            noise_interval=0.0,
            answer_noise=(
                "^NWTIME: 18/03/09,12:36:21+4,00",
                "^RSSI:20",
                "^MODE:5,4",
                "^BOOT:20952418,0,0,0,75",
            ),
        ),
        # Industrial module: every AT+CNMI with <bfr>=0 is refused with +CMS ERROR: 538
        # (invalid parameter), as AT+CNMI=? offers <bfr> 1 only.
        "cinterion-mc75i": dict(
            manufacturer="Cinterion",
            model="MC75i",
            revision="REVISION 01.400",
            ati=("Cinterion", "MC75i", "REVISION 01.400"),
            boot_urcs=("^SYSSTART",),
            refuse=_HUAWEI_ONLY,
            cnmi_choices=((0, 1, 2, 3), (0, 1, 2, 3), (0, 2, 3), (0, 1, 2), (1,)),
            cnmi_refusal=538,
        ),
        # The SIM800 in its first seconds after power-on: the SIM answers +CME ERROR: 14
        # (SIM busy) until it has started.
        "simcom-sim800-cold": dict(
            _PRESETS["simcom-sim800"],
            busy_after_power_on=1.0,
            busy_error=("CME", 14),
            busy_commands={"+CPIN", "+CIMI", "+CPMS", "+CSCA", "+CNUM"},
        ),
    }
)

PERSONALITIES: tuple[str, ...] = tuple(_PRESETS)
"""Names of the presets, for `--profile` and error messages."""


def personality(name: str, base: ModemProfile | None = None) -> ModemProfile:
    """A fresh profile of preset `name`; fields it does not set come from `base` (the
    numbers and SIM of one simulated modem) or the defaults. Unknown names raise
    ConfigError listing the known ones."""
    try:
        preset = _PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown modem profile {name!r}; known: {', '.join(PERSONALITIES)}") from None
    return dataclasses.replace(base or ModemProfile(), **preset)
