"""TPDU fields shared by every message type: addresses, time stamps, validity, DCS.

References: 3GPP TS 23.040 §9.1.2.5 (address), §9.2.3.11 (SCTS), §9.2.3.12 (validity),
3GPP TS 23.038 §4 (data coding scheme), 3GPP TS 24.008 §10.5.4.7 (SMSC address).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from drivers._exceptions import PduError
from drivers.sms import gsm7

__all__ = [
    "TOA_INTERNATIONAL",
    "TOA_UNKNOWN",
    "TOA_ALPHANUMERIC",
    "encode_address",
    "decode_address",
    "encode_smsc",
    "decode_smsc",
    "encode_timestamp",
    "decode_timestamp",
    "encode_relative_validity",
    "decode_relative_validity",
    "DataCoding",
    "decode_dcs",
    "encode_dcs",
]

TOA_INTERNATIONAL = 0x91  # type of number international, ISDN/telephone numbering plan
TOA_UNKNOWN = 0x81  # type unknown, ISDN plan: what handsets send for national numbers
TOA_ALPHANUMERIC = 0xD0  # type alphanumeric (GSM-7 packed), §9.1.2.5

# Semi-octet values 0xC–0xE ('a', 'b', 'c') exist in received addresses but are not
# something a user can dial, so only digits, * and # are accepted for sending.
_DIGIT_TO_NIBBLE = {str(d): d for d in range(10)} | {"*": 0xA, "#": 0xB}
_NIBBLE_TO_DIGIT = "0123456789*#abc"
# byte -> its two semi-octets as digits, low nibble first ('F' filler kept as 'f').
_SWAPPED = tuple(
    (_NIBBLE_TO_DIGIT[b & 0xF] if (b & 0xF) < 15 else "f") + (_NIBBLE_TO_DIGIT[b >> 4] if (b >> 4) < 15 else "f")
    for b in range(256)
)
MAX_ADDRESS_DIGITS = 20  # §9.1.2.5: address value is at most 10 octets


# --- addresses -------------------------------------------------------------------------


def encode_address(number: str) -> bytes:
    """TP-DA / TP-OA: length in digits, type of address, semi-octets.

    A leading '+' makes the number international; without it the type is 'unknown',
    which networks read as a national number or short code.
    """
    toa, digits = _split_number(number)
    return bytes((len(digits), toa)) + _semi_octets(digits)


def encode_smsc(number: str | None) -> bytes:
    """The SMSC prefix of a PDU as modems take it: `00` for "use the SIM's SMSC"."""
    if not number:
        return b"\x00"
    toa, digits = _split_number(number)
    body = bytes((toa,)) + _semi_octets(digits)
    return bytes((len(body),)) + body


def encode_alphanumeric_address(name: str) -> bytes:
    """An alphanumeric originator (at most 11 GSM-7 characters), for SMS-DELIVER."""
    septets = gsm7.encode(name)
    if len(septets) > 11:
        raise PduError(f"alphanumeric address {name!r} is longer than 11 characters")
    packed = gsm7.pack(septets, pad_cr=False)
    # Length counts useful semi-octets (§9.1.2.5).
    return bytes((-(-len(septets) * 7 // 4), TOA_ALPHANUMERIC)) + packed


def decode_address(pdu: bytes, pos: int) -> tuple[str, int]:
    """Read an address at `pos`; return (number, next position)."""
    if pos + 2 > len(pdu):
        raise PduError("PDU ends inside an address", pos)
    digits = pdu[pos]
    toa = pdu[pos + 1]
    octets = (digits + 1) // 2
    end = pos + 2 + octets
    if digits > 2 * 11 or end > len(pdu):
        raise PduError(f"address of {digits} semi-octets overruns the PDU", pos)
    value = pdu[pos + 2 : end]
    if toa & 0x70 == 0x50:  # type of number 101: alphanumeric
        text = gsm7.decode(gsm7.unpack(value, digits * 4 // 7))
        return text, end
    number = "".join([_SWAPPED[b] for b in value])[:digits]
    if toa & 0x70 == 0x10 and number:  # type of number 001: international
        number = "+" + number
    return number, end


def decode_smsc(pdu: bytes) -> tuple[str | None, int]:
    """Read the SMSC prefix; return (number or None, position of the TPDU)."""
    if not pdu:
        raise PduError("empty PDU", 0)
    length = pdu[0]
    if length == 0:
        return None, 1
    end = 1 + length
    if end > len(pdu) or length > 12:
        raise PduError(f"SMSC address of {length} octets overruns the PDU", 0)
    toa = pdu[1]
    number = "".join([_SWAPPED[b] for b in pdu[2:end]]).rstrip("f")
    if toa & 0x70 == 0x10 and number:
        number = "+" + number
    return (number or None), end


def _split_number(number: str) -> tuple[int, str]:
    raw = number.strip()
    if raw.startswith("+"):
        toa, digits = TOA_INTERNATIONAL, raw[1:]
    else:
        toa, digits = TOA_UNKNOWN, raw
    if not digits:
        raise PduError(f"phone number {number!r} has no digits")
    if len(digits) > MAX_ADDRESS_DIGITS:
        raise PduError(f"phone number {number!r} has more than {MAX_ADDRESS_DIGITS} digits")
    for ch in digits:
        if ch not in _DIGIT_TO_NIBBLE:
            raise PduError(f"phone number {number!r} contains {ch!r}; only digits, * and # are allowed")
    return toa, digits


def _semi_octets(digits: str) -> bytes:
    nibbles = [_DIGIT_TO_NIBBLE[d] for d in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


# --- time stamps -----------------------------------------------------------------------

_TZ_CACHE: dict[int, timezone] = {}


def decode_timestamp(pdu: bytes, pos: int) -> datetime | None:
    """TP-SCTS / TP-DT (7 semi-octet pairs, time zone in quarter hours, §9.2.3.11).

    A time stamp whose digits do not make a date is returned as None rather than
    failing the whole message: the text matters more than a broken SMSC clock.
    """
    if pos + 7 > len(pdu):
        raise PduError("PDU ends inside a time stamp", pos)
    b = pdu[pos : pos + 7]
    bcd = _BCD
    year, month, day, hour, minute, second = bcd[b[0]], bcd[b[1]], bcd[b[2]], bcd[b[3]], bcd[b[4]], bcd[b[5]]
    if min(year, month, day, hour, minute, second) < 0:
        return None
    try:
        tzb = b[6]
        quarters = (tzb & 0x07) * 10 + (tzb >> 4)
        if (tzb >> 4) > 9:
            return None
        if tzb & 0x08:
            quarters = -quarters
        tz = _TZ_CACHE.get(quarters)
        if tz is None:
            tz = _TZ_CACHE[quarters] = timezone(timedelta(minutes=15 * quarters))
        # Two-digit year: SMS clocks are near the present, so 70–99 are 1970–1999.
        century = 1900 if year >= 70 else 2000
        return datetime(century + year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def encode_timestamp(when: datetime) -> bytes:
    """A time stamp in the sender's offset (naive datetimes are taken as UTC)."""
    offset = when.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    if not -79 <= quarters <= 79:
        raise PduError(f"time zone offset {offset} cannot be expressed in quarter hours")
    tz = abs(quarters)
    tzb = ((tz // 10) | (0x08 if quarters < 0 else 0)) | ((tz % 10) << 4)
    fields = (when.year % 100, when.month, when.day, when.hour, when.minute, when.second)
    return bytes(((v // 10) | ((v % 10) << 4)) for v in fields) + bytes((tzb,))


# Octet -> its two swapped BCD semi-octets as a number (0x21 -> 12); -1 when not digits.
_BCD = tuple((b & 0xF) * 10 + (b >> 4) if (b & 0xF) < 10 and (b >> 4) < 10 else -1 for b in range(256))


# --- validity period (relative format, §9.2.3.12.1) --------------------------------------


def encode_relative_validity(period: timedelta) -> int:
    """The smallest TP-VP octet that covers `period` (at most 63 weeks)."""
    minutes = math.ceil(period.total_seconds() / 60)
    if minutes <= 0:
        raise PduError("validity period must be positive")
    if minutes <= 720:  # 0–143: (VP + 1) × 5 minutes
        return max(0, -(-minutes // 5) - 1)
    if minutes <= 1440:  # 144–167: 12 hours + (VP − 143) × 30 minutes
        return 143 + -(-(minutes - 720) // 30)
    if minutes <= 30 * 1440:  # 168–196: (VP − 166) days
        return 166 + -(-minutes // 1440)
    return min(192 + -(-minutes // (1440 * 7)), 255)  # 197–255: (VP − 192) weeks


def decode_relative_validity(vp: int) -> timedelta:
    if vp <= 143:
        return timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return timedelta(days=vp - 166)
    return timedelta(weeks=vp - 192)


# --- data coding scheme (23.038 §4) --------------------------------------------------------

Alphabet = Literal["gsm7", "8bit", "ucs2"]
_ALPHABETS: tuple[Alphabet, ...] = ("gsm7", "8bit", "ucs2", "gsm7")  # 11 is reserved: read as GSM-7
_MWI_TYPES = ("voicemail", "fax", "email", "other")


@dataclass(frozen=True, slots=True)
class DataCoding:
    """What a DCS octet says: alphabet, message class and message-waiting indication."""

    alphabet: Alphabet
    message_class: int | None = None
    compressed: bool = False
    waiting: tuple[bool, str] | None = None  # (indication active, kind) for groups 1100–1110
    discard: bool = False  # message-waiting group 1100: the text may be discarded


def decode_dcs(dcs: int) -> DataCoding:
    group = dcs >> 4
    if group <= 0x7:  # 00xx general data coding, 01xx the same marked for automatic deletion
        compressed = bool(dcs & 0x20)
        cls = dcs & 0x03 if dcs & 0x10 else None
        return DataCoding(_ALPHABETS[(dcs >> 2) & 0x03], cls, compressed)
    if group in (0xC, 0xD, 0xE):  # message waiting indication groups
        waiting = (bool(dcs & 0x08), _MWI_TYPES[dcs & 0x03])
        alphabet: Alphabet = "ucs2" if group == 0xE else "gsm7"
        return DataCoding(alphabet, None, False, waiting, group == 0xC)
    if group == 0xF:  # data coding / message class
        return DataCoding("8bit" if dcs & 0x04 else "gsm7", dcs & 0x03)
    return DataCoding("gsm7")  # 1000–1011 reserved: the spec says assume GSM-7


def encode_dcs(alphabet: Alphabet, message_class: int | None = None) -> int:
    bits = {"gsm7": 0x00, "8bit": 0x04, "ucs2": 0x08}[alphabet]
    if message_class is None:
        return bits
    if not 0 <= message_class <= 3:
        raise PduError(f"message class must be 0–3, not {message_class}")
    return bits | 0x10 | message_class
