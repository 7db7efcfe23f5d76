"""Masking identifiers out of an AT exchange, so a recording can go into a bug report.

What is masked: IMEI, IMSI and ICCID (15–20 digit runs), phone numbers in text (`+CSCA`,
`+CMGS` in text mode, `+CNUM`, `+CLIP`: any run of 7 or more digits), PINs and passwords
in `AT+CPIN` / `AT+CLCK` / `AT+CPWD`, and the addresses inside PDUs (the SMSC and
TP-DA / TP-OA / TP-RA, 3GPP TS 23.040 §9.1.2.5). The first few digits stay, because they
say something useful and nothing personal: the country and operator of a number or IMSI,
the model (type allocation code) of an IMEI. The message text inside a PDU is kept.

Pure functions, no I/O: `mask_line(direction, line)` is what the recorder calls.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["mask_line", "mask_pdu", "mask_text", "KEEP_DIGITS"]

KEEP_DIGITS = 5  # digits left of a masked number: country + operator, or most of a TAC
MASK = "X"  # in text; inside a PDU masked digits become 0, so the PDU still decodes

# A run of 7+ digits (optionally +) not inside a longer word or hex string.
_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\+?)(\d{7,})(?![0-9A-Za-z])")
_SECRET_COMMAND = re.compile(r"^(AT\s*[+^](?:CPIN|CLCK|CPWD)\s*=)(.*)$", re.I)
_HEX = re.compile(r"^[0-9A-Fa-f]{14,}$")

Direction = Literal["in", "out"]


def mask_line(direction: Direction, line: str) -> str:
    """`line` as it may be recorded: `direction` "out" is what was sent to the modem."""
    body = line.rstrip("\x1a")
    end = line[len(body) :]
    m = _SECRET_COMMAND.match(body)  # sent, or echoed back
    if m:
        return m.group(1) + re.sub(r"\d", "*", m.group(2)) + end
    if _HEX.match(body) and len(body) % 2 == 0:
        masked = mask_pdu(body, sent=direction == "out")
        # Hex that is no PDU we know (a Huawei ^DSFLOWRPT field, a raw dump) is masked as text.
        return (masked if masked is not None else mask_text(body)) + end
    return mask_text(body) + end


def mask_text(text: str) -> str:
    """Every run of 7 or more digits keeps its first `KEEP_DIGITS` digits."""

    def one(m: re.Match[str]) -> str:
        digits = m.group(2)
        return m.group(1) + digits[:KEEP_DIGITS] + MASK * (len(digits) - KEEP_DIGITS)

    return _NUMBER.sub(one, text)


def mask_pdu(pdu: str, *, sent: bool) -> str | None:
    """The PDU (SMSC prefix included, as AT+CMGS / +CMGR carry it) with the digits of its
    addresses masked; None when it is not an SMS PDU this understands. `sent`: a PDU
    going to the modem (an SMS-SUBMIT) rather than one coming from it."""
    try:
        octets = bytearray.fromhex(pdu)
        smsc_len = octets[0]
        pos = 1
        if smsc_len:
            _mask_semi_octets(octets, pos + 1, pos + smsc_len)
        pos += smsc_len
        first = octets[pos]
        mti = first & 0x03  # 23.040 §9.2.3.1
        pos += 1
        if mti in (0x01, 0x02):  # SMS-SUBMIT, SMS-STATUS-REPORT: TP-MR, then TP-DA / TP-RA
            pos += 1
        elif mti != 0x00 or sent:  # from the modem, 0 is an SMS-DELIVER: TP-OA next
            return None
        digits = octets[pos]
        toa = octets[pos + 1]
        end = pos + 2 + (digits + 1) // 2
        if end > len(octets) or digits > 20:
            return None
        if (toa >> 4) & 0x07 != 0x05:  # alphanumeric senders are names, not numbers
            _mask_semi_octets(octets, pos + 2, end)
    except (ValueError, IndexError):
        return None
    return octets.hex().upper()


def _mask_semi_octets(octets: bytearray, start: int, end: int) -> None:
    """Zero every digit after the first `KEEP_DIGITS` in octets[start:end] (swapped BCD,
    low nibble first; an F filler stays)."""
    n = 0
    for i in range(start, min(end, len(octets))):
        byte = octets[i]
        low, high = byte & 0x0F, byte >> 4
        if low != 0x0F:
            n += 1
            if n > KEEP_DIGITS:
                low = 0
        if high != 0x0F:
            n += 1
            if n > KEEP_DIGITS:
                high = 0
        octets[i] = (high << 4) | low
