"""SMS PDUs: SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT (3GPP TS 23.040 §9.2.2).

Every PDU here is the form AT modems use in PDU mode (3GPP TS 27.005 §3.1): the SMSC
address first (a lone `00` when the SIM's SMSC is used), then the TPDU. Decoding reads
bytes strictly by their declared lengths; anything that does not fit raises PduError with
the octet offset, never IndexError or ValueError.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypedDict

from drivers._exceptions import PduError
from drivers.sms import alphabets, fields, gsm7, udh
from drivers.sms.segments import EncodingChoice, Segments, split
from drivers.sms.udh import Concat, InformationElement, Ports

__all__ = [
    "SubmitPart",
    "SmsDeliver",
    "SmsSubmit",
    "SmsStatusReport",
    "Sms",
    "TextEncoding",
    "StatusCategory",
    "encode_submit",
    "encode_deliver",
    "encode_status_report",
    "decode_pdu",
    "status_category",
]

TextEncoding = Literal["gsm7", "ucs2", "8bit"]
StatusCategory = Literal["delivered", "pending", "failed", "unknown"]

# First-octet bits, §9.2.2.
_MTI_DELIVER, _MTI_SUBMIT, _MTI_STATUS_REPORT = 0, 1, 2
_RD = 0x04  # SUBMIT: reject duplicates
_MMS = 0x04  # DELIVER / STATUS-REPORT: more messages to send (inverted sense)
_VPF_RELATIVE = 0x10
_SRR = 0x20  # SUBMIT: status report request; DELIVER: status report indication
_SRQ = 0x20  # STATUS-REPORT: qualifier (report of a COMMAND)
_UDHI = 0x40
_RP = 0x80
_NATIONAL_IEIS = (udh.IEI_NATIONAL_SINGLE_SHIFT, udh.IEI_NATIONAL_LOCKING_SHIFT)


@dataclass(frozen=True, slots=True)
class SubmitPart:
    """One SMS-SUBMIT ready for `AT+CMGS=<tpdu_length>`; `pdu` includes the SMSC prefix."""

    pdu: str
    tpdu_length: int

    def to_dict(self) -> dict[str, object]:
        return {"pdu": self.pdu, "tpdu_length": self.tpdu_length}


@dataclass(frozen=True, slots=True)
class SmsDeliver:
    """A received message (SC → MS)."""

    smsc: str | None
    number: str  # originator: digits (with '+' if international) or alphanumeric name
    text: str  # for 8-bit data: the octets in upper-case hex
    encoding: TextEncoding
    timestamp: datetime | None  # SC time stamp; None when the SMSC sent an invalid one
    concat: Concat | None = None
    udh: tuple[InformationElement, ...] = ()
    message_class: int | None = None
    pid: int = 0
    ports: Ports | None = None
    status_report_indication: bool = False
    waiting: tuple[bool, str] | None = None

    type = "SMS-DELIVER"


@dataclass(frozen=True, slots=True)
class SmsSubmit:
    """A message to send (MS → SC), as stored in a modem's memory or built by us."""

    smsc: str | None
    number: str  # destination
    text: str
    encoding: TextEncoding
    message_reference: int
    concat: Concat | None = None
    udh: tuple[InformationElement, ...] = ()
    message_class: int | None = None
    pid: int = 0
    ports: Ports | None = None
    status_report_request: bool = False
    reject_duplicates: bool = False
    validity: timedelta | datetime | None = None

    type = "SMS-SUBMIT"


@dataclass(frozen=True, slots=True)
class SmsStatusReport:
    """What the SMSC says became of a message we submitted (§9.2.2.3)."""

    smsc: str | None
    message_reference: int
    number: str  # recipient of the original message
    timestamp: datetime | None  # when the SMSC received the original message
    discharge_time: datetime | None  # when it was delivered, or the last attempt
    status: int  # TP-ST, §9.2.3.15
    text: str = ""
    encoding: TextEncoding = "gsm7"
    concat: Concat | None = None
    udh: tuple[InformationElement, ...] = ()

    type = "SMS-STATUS-REPORT"

    @property
    def category(self) -> StatusCategory:
        return status_category(self.status)


Sms = SmsDeliver | SmsSubmit | SmsStatusReport


def status_category(status: int) -> StatusCategory:
    """TP-ST (§9.2.3.15) → delivered / still pending / finally failed."""
    if status <= 0x1F:
        return "delivered"  # received, forwarded unconfirmed, replaced, SC-specific success
    if status <= 0x3F:
        return "pending"  # temporary error, the SMSC is still trying
    if status <= 0x7F:
        return "failed"  # permanent error, or temporary error the SMSC gave up on
    return "unknown"  # reserved values


def to_dict(sms: Sms) -> dict[str, object]:
    """The JSON shape of `modemgate pdu decode`."""
    ts = sms.timestamp if not isinstance(sms, SmsSubmit) else None
    out: dict[str, object] = {
        "type": sms.type,
        "smsc": sms.smsc,
        "number": sms.number,
        "text": sms.text,
        "encoding": sms.encoding,
        "concat": sms.concat.to_dict() if sms.concat else None,
        "message_reference": getattr(sms, "message_reference", None),
        "status": getattr(sms, "status", None),
        "timestamp": ts.isoformat() if ts else None,
        "discharge_time": None,
        "udh": [ie.to_dict() for ie in sms.udh],
        "message_class": getattr(sms, "message_class", None),
    }
    if isinstance(sms, SmsStatusReport):
        out["discharge_time"] = sms.discharge_time.isoformat() if sms.discharge_time else None
        out["category"] = sms.category
    return out


# --- encoding ---------------------------------------------------------------------------


def encode_submit(
    number: str,
    text: str,
    *,
    smsc: str | None = None,
    encoding: EncodingChoice = "auto",
    ref: int | None = None,
    ref16: bool = False,
    status_report: bool = True,
    validity: timedelta | None = None,
    message_class: int | None = None,
    reject_duplicates: bool = False,
    languages: Sequence[str] = (),
) -> list[SubmitPart]:
    """Build the SMS-SUBMIT PDUs for `text` to `number`, one per part.

    TP-MR is 0: the modem assigns the reference and reports it in `+CMGS: <mr>`.
    `ref` is the concatenation reference; by default a random one (the gateway passes
    its own). `languages` allows national shift tables (ISO 639-1 codes): the one giving
    the fewest parts is used, with its IEs in every part. Raises PduError for a bad
    number, unencodable text or > 255 parts.
    """
    first = _MTI_SUBMIT
    if reject_duplicates:
        first |= _RD
    if status_report:
        first |= _SRR
    if validity is not None:
        first |= _VPF_RELATIVE

    def head(alphabet: TextEncoding) -> bytes:
        # TP-MR 0, TP-DA, TP-PID 0, TP-DCS, TP-VP.
        vp = b"" if validity is None else bytes((fields.encode_relative_validity(validity),))
        return (
            bytes((0x00,))
            + fields.encode_address(number)
            + bytes((0x00, fields.encode_dcs(alphabet, message_class)))
            + vp
        )

    smsc_octets, tpdus = _encode(
        text, first, head, smsc=smsc, encoding=encoding, ref=ref, ref16=ref16, languages=languages
    )
    return [SubmitPart((smsc_octets + tpdu).hex().upper(), len(tpdu)) for tpdu in tpdus]


def encode_deliver(
    originator: str,
    text: str,
    *,
    timestamp: datetime,
    smsc: str | None = None,
    encoding: EncodingChoice = "auto",
    ref: int | None = None,
    ref16: bool = False,
    message_class: int | None = None,
    status_report_indication: bool = False,
    languages: Sequence[str] = (),
) -> list[str]:
    """Build SMS-DELIVER PDUs (hex, SMSC prefix included), as a network hands them to a modem.

    An originator that is not a phone number (letters) is sent as an alphanumeric address.
    """
    first = _MTI_DELIVER | _MMS  # MMS set: no more messages waiting
    if status_report_indication:
        first |= _SRR

    def head(alphabet: TextEncoding) -> bytes:
        # TP-OA, TP-PID 0, TP-DCS, TP-SCTS.
        stripped = originator.lstrip("+")
        if stripped and all(ch in "0123456789*#" for ch in stripped):
            oa = fields.encode_address(originator)
        else:
            oa = fields.encode_alphanumeric_address(originator)
        return oa + bytes((0x00, fields.encode_dcs(alphabet, message_class))) + fields.encode_timestamp(timestamp)

    smsc_octets, tpdus = _encode(
        text, first, head, smsc=smsc, encoding=encoding, ref=ref, ref16=ref16, languages=languages
    )
    return [(smsc_octets + tpdu).hex().upper() for tpdu in tpdus]


def encode_status_report(
    message_reference: int,
    recipient: str,
    *,
    timestamp: datetime,
    discharge_time: datetime,
    status: int,
    smsc: str | None = None,
) -> str:
    """Build an SMS-STATUS-REPORT PDU (hex, SMSC prefix included)."""
    if not 0 <= message_reference <= 255 or not 0 <= status <= 255:
        raise PduError("message reference and status must be octets (0–255)")
    tpdu = (
        # TP-MMS set: "no more messages are waiting" (0 would announce more to come).
        bytes((_MTI_STATUS_REPORT | _MMS, message_reference))
        + fields.encode_address(recipient)
        + fields.encode_timestamp(timestamp)
        + fields.encode_timestamp(discharge_time)
        + bytes((status,))
    )
    return (fields.encode_smsc(smsc) + tpdu).hex().upper()


def _encode(
    text: str,
    first: int,
    head: Callable[[TextEncoding], bytes],
    *,
    smsc: str | None,
    encoding: EncodingChoice,
    ref: int | None,
    ref16: bool,
    languages: Sequence[str] = (),
) -> tuple[bytes, list[bytes]]:
    """The SMSC prefix and each part's TPDU: first octet (TP-UDHI set when there is a
    header), the fields after it up to TP-UD (`head`, given the alphabet), TP-UDL and
    TP-UD. Errors come in the order the fields are encoded: text, header, SMSC, ref."""
    segs = split(text, encoding, ref16=ref16, languages=languages)
    alphabet: TextEncoding = segs.encoding
    fixed = head(alphabet)
    smsc_octets = fields.encode_smsc(smsc)
    first_octet = bytes((first | (_UDHI if len(segs.payloads) > 1 or segs.header_ies else 0),))
    return smsc_octets, [first_octet + fixed + ud for ud in _user_data(segs, ref, ref16)]


def _user_data(segs: Segments, ref: int | None, ref16: bool) -> list[bytes]:
    """TP-UDL + TP-UD for each part, with the UDH (concatenation when there are several
    parts, national language IEs when a national table is used)."""
    payloads, alphabet, national = segs.payloads, segs.encoding, segs.header_ies
    total = len(payloads)
    if total == 1:
        if national:
            return [_with_header(udh.build(national), payloads[0], alphabet)]
        payload = payloads[0]
        if alphabet == "gsm7":
            return [bytes((len(payload),)) + gsm7.pack(payload)]
        return [bytes((len(payload),)) + payload]
    if ref is None:
        ref = random.randrange(0x10000 if ref16 else 0x100)
    elif not 0 <= ref < (0x10000 if ref16 else 0x100):
        raise PduError(f"concatenation reference {ref} does not fit in {'16' if ref16 else '8'} bits")
    return [
        _with_header(udh.build((udh.concat_ie(ref, total, seq, ref16=ref16), *national)), payload, alphabet)
        for seq, payload in enumerate(payloads, 1)
    ]


def _with_header(header: bytes, payload: bytes, alphabet: TextEncoding) -> bytes:
    """TP-UDL + UDH + payload; GSM-7 text starts at the next septet boundary after the header."""
    if alphabet == "gsm7":
        header_septets = (len(header) * 8 + 6) // 7
        fill = header_septets * 7 - len(header) * 8
        udl = header_septets + len(payload)
        return bytes((udl,)) + header + gsm7.pack(payload, fill)
    return bytes((len(header) + len(payload),)) + header + payload


# --- decoding ---------------------------------------------------------------------------


def decode_pdu(pdu: str | bytes, *, smsc: bool = True) -> Sms:
    """Decode a PDU as a modem shows it (`+CMGR`, `+CMGL`, `+CMT`, `+CDS`).

    With `smsc=False` the input is a bare TPDU. SMS-SUBMIT and SMS-STATUS-REPORT are told
    apart by TP-MTI from the mobile's point of view (01 submit, 10 status report).
    """
    data = _to_bytes(pdu)
    if smsc:
        smsc_number, pos = fields.decode_smsc(data)
    else:
        smsc_number, pos = None, 0
    if pos >= len(data):
        raise PduError("PDU ends before the TPDU", pos)
    mti = data[pos] & 0x03
    if mti == _MTI_DELIVER:
        return _decode_deliver(data, pos, smsc_number)
    if mti == _MTI_SUBMIT:
        return _decode_submit(data, pos, smsc_number)
    if mti == _MTI_STATUS_REPORT:
        return _decode_status_report(data, pos, smsc_number)
    raise PduError("message type indicator 11 is reserved", pos)


def _to_bytes(pdu: str | bytes) -> bytes:
    if isinstance(pdu, (bytes, bytearray, memoryview)):
        return bytes(pdu)
    text = pdu.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    for i, ch in enumerate(text):
        if ch not in "0123456789abcdefABCDEF":
            raise PduError(f"PDU is not hexadecimal: {ch!r} at character {i}", i // 2)
    raise PduError(f"PDU hex has an odd number of digits ({len(text)})", len(text) // 2)


def _decode_deliver(data: bytes, pos: int, smsc: str | None) -> SmsDeliver:
    first = data[pos]
    number, pos = fields.decode_address(data, pos + 1)
    pid, dcs, pos = _pid_dcs(data, pos)
    timestamp = fields.decode_timestamp(data, pos)
    coding = fields.decode_dcs(dcs)
    text, alphabet, ies = _decode_user_data(data, pos + 7, bool(first & _UDHI), coding)
    return SmsDeliver(
        smsc,
        number,
        text,
        alphabet,
        timestamp,
        **_header_fields(ies, coding, pid),
        status_report_indication=bool(first & _SRR),
        waiting=coding.waiting,
    )


def _decode_submit(data: bytes, pos: int, smsc: str | None) -> SmsSubmit:
    first = data[pos]
    mr, number, pos = _reference_and_address(data, pos + 1)
    pid, dcs, pos = _pid_dcs(data, pos)
    vpf = (first >> 3) & 0x03
    validity: timedelta | datetime | None = None
    if vpf == 2:  # relative, one octet
        if pos >= len(data):
            raise PduError("PDU ends inside the validity period", pos)
        validity = fields.decode_relative_validity(data[pos])
        pos += 1
    elif vpf in (1, 3):  # enhanced or absolute, seven octets
        if pos + 7 > len(data):
            raise PduError("PDU ends inside the validity period", pos)
        if vpf == 3:
            validity = fields.decode_timestamp(data, pos)
        pos += 7
    coding = fields.decode_dcs(dcs)
    text, alphabet, ies = _decode_user_data(data, pos, bool(first & _UDHI), coding)
    return SmsSubmit(
        smsc,
        number,
        text,
        alphabet,
        mr,
        **_header_fields(ies, coding, pid),
        status_report_request=bool(first & _SRR),
        reject_duplicates=bool(first & _RD),
        validity=validity,
    )


def _decode_status_report(data: bytes, pos: int, smsc: str | None) -> SmsStatusReport:
    first = data[pos]
    mr, number, pos = _reference_and_address(data, pos + 1)
    scts = fields.decode_timestamp(data, pos)
    discharge = fields.decode_timestamp(data, pos + 7)
    pos += 14
    if pos >= len(data):
        raise PduError("PDU ends before the status", pos)
    status = data[pos]
    pos += 1
    fallback: tuple[str, TextEncoding, tuple[InformationElement, ...]] = ("", "gsm7", ())
    text, alphabet, ies = fallback
    # Optional TP-PI and what it announces (§9.2.3.27). A PI with the extension bit or
    # more than its three known bits is taken as padding, as the spec allows receivers to.
    if pos < len(data) and not data[pos] & 0xF8:
        pi = data[pos]
        pos += 1
        _pid = dcs = 0  # TP-PID is read past: the report does not carry it
        if pi & 0x01:
            _pid, pos = _octet(data, pos), pos + 1
        if pi & 0x02:
            dcs, pos = _octet(data, pos), pos + 1
        if pi & 0x04:
            coding = fields.decode_dcs(dcs)
            text, alphabet, ies = _decode_user_data(data, pos, bool(first & _UDHI), coding)
    return SmsStatusReport(
        smsc,
        mr,
        number,
        scts,
        discharge,
        status,
        text,
        alphabet,
        udh.concat_of(ies) if ies else None,
        ies,
    )


class _HeaderFields(TypedDict):
    concat: Concat | None
    udh: tuple[InformationElement, ...]
    message_class: int | None
    pid: int
    ports: Ports | None


def _header_fields(ies: tuple[InformationElement, ...], coding: fields.DataCoding, pid: int) -> _HeaderFields:
    """What SMS-DELIVER and SMS-SUBMIT read from the user data header, TP-DCS and TP-PID."""
    return _HeaderFields(
        concat=udh.concat_of(ies) if ies else None,
        udh=ies,
        message_class=coding.message_class,
        pid=pid,
        ports=udh.ports_of(ies) if ies else None,
    )


def _reference_and_address(data: bytes, pos: int) -> tuple[int, str, int]:
    """TP-MR, then TP-DA (SUBMIT) or TP-RA (STATUS-REPORT): both follow the first octet."""
    if pos >= len(data):
        raise PduError("PDU ends before the message reference", pos)
    number, end = fields.decode_address(data, pos + 1)
    return data[pos], number, end


def _octet(data: bytes, pos: int) -> int:
    if pos >= len(data):
        raise PduError("PDU ends early", pos)
    return data[pos]


def _pid_dcs(data: bytes, pos: int) -> tuple[int, int, int]:
    if pos + 2 > len(data):
        raise PduError("PDU ends before the protocol identifier and coding scheme", pos)
    return data[pos], data[pos + 1], pos + 2


def _decode_user_data(
    data: bytes, pos: int, udhi: bool, coding: fields.DataCoding
) -> tuple[str, TextEncoding, tuple[InformationElement, ...]]:
    if pos >= len(data):
        raise PduError("PDU ends before the user data length", pos)
    if coding.compressed:
        raise PduError("compressed user data (3GPP TS 23.042) is not supported", pos)
    udl = data[pos]
    start = pos + 1
    alphabet = coding.alphabet
    octets = (udl * 7 + 7) // 8 if alphabet == "gsm7" else udl
    if start + octets > len(data):
        raise PduError(f"user data length {udl} needs {octets} octets, only {len(data) - start} follow", pos)
    ud = data[start : start + octets]
    ies: tuple[InformationElement, ...] = ()
    header_len = 0
    if udhi and octets:
        header_len = ud[0] + 1
        if header_len > octets:
            raise PduError(f"user data header of {header_len} octets overruns the user data", start)
        ies = udh.parse(ud[1:header_len], start + 1)
    if alphabet == "gsm7":
        skip = (header_len * 8 + 6) // 7
        if skip > udl:
            raise PduError("user data header is longer than the user data", start)
        septets = gsm7.unpack(ud, udl, skip)
        if ies and any(ie.iei in _NATIONAL_IEIS for ie in ies):
            # National language IEs (23.040 §9.2.3.24.15/16) pick the tables; without them, default.
            return alphabets.from_ies(ies).decode(septets), "gsm7", ies
        return gsm7.decode(septets), "gsm7", ies
    body = ud[header_len:]
    if alphabet == "ucs2":
        # A broken unit (odd length, lone surrogate) shows as U+FFFD instead of losing the text.
        return body.decode("utf-16-be", "replace"), "ucs2", ies
    return body.hex().upper(), "8bit", ies
