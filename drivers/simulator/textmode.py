"""How a simulated modem shows messages: PDU and text-mode entries of +CMGL / +CMGR, the
+CMT / +CDS lines, and strings in the TE character set of AT+CSCS (3GPP TS 27.005 §3, §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drivers._exceptions import PduError
from drivers.simulator.framing import CME_INCORRECT_PARAMETERS, CommandFailed
from drivers.simulator.storage import STAT_NAMES, Stored
from drivers.sms import decode_pdu, encode_submit

__all__ = [
    "te_string",
    "from_te_string",
    "pdu_listing",
    "text_listing",
    "direct_urc",
    "text_fields",
    "text_mode_submit",
    "time_string",
    "tz_suffix",
]

# TP-SRR, bit 5 of the first octet (23.040 §9.2.3.5): AT+CSMP <fo> asks for status reports.
_FO_STATUS_REPORT = 0x20


def te_string(cscs: str, value: str) -> str:
    """A string result in the TE character set of AT+CSCS (UCS2: hex of UTF-16BE)."""
    return value.encode("utf-16-be").hex().upper() if cscs == "UCS2" else value


def from_te_string(cscs: str, value: str) -> str:
    """A string parameter in the TE character set, decoded; +CME ERROR: 50 if it is not."""
    if cscs == "UCS2":
        try:
            return bytes.fromhex(value).decode("utf-16-be")
        except ValueError:
            raise CommandFailed("CME", CME_INCORRECT_PARAMETERS) from None
    return value


def pdu_listing(tag: str, stored: Stored, with_index: bool) -> list[str]:
    """+CMGL / +CMGR entry in PDU mode (27.005 §3.4.2, §3.4.3)."""
    head = (
        f"{tag}: {stored.index},{stored.stat},,{stored.tpdu_length}"
        if with_index
        else (f"{tag}: {stored.stat},,{stored.tpdu_length}")
    )
    return [head, stored.pdu]


def text_listing(tag: str, stored: Stored, with_index: bool, cscs: str) -> list[str]:
    """+CMGL / +CMGR entry in text mode (27.005 §3.4.2, §3.4.3)."""
    lead = f"{stored.index}," if with_index else ""
    stat = f'"{STAT_NAMES[stored.stat]}"'
    try:
        sms = decode_pdu(stored.pdu)
    except PduError:
        return [f"{tag}: {lead}{stat}", stored.pdu]
    head, data = text_fields(sms, cscs)
    return [f"{tag}: {lead}{stat},{head}"] + ([data] if data is not None else [])


def direct_urc(tag: str, pdu: str, cmgf: int, cscs: str) -> str:
    """27.005 §3.4.1 +CMT / +CDS in the current message format.

    PDU mode: `+CMT: ,<length>` / `+CDS: <length>`, then the PDU (SMSC included).
    Text mode: the header fields of +CMGR, then the text (+CDS has no text line).
    """
    if cmgf == 0:
        length = len(pdu) // 2 - 1 - int(pdu[:2], 16)
        return f"{tag}: ,{length}\r\n{pdu}" if tag == "+CMT" else f"{tag}: {length}\r\n{pdu}"
    try:
        sms = decode_pdu(pdu)
    except PduError:
        return f"{tag}: ,{len(pdu) // 2}\r\n{pdu}"
    head, data = text_fields(sms, cscs)
    return f"{tag}: {head}" + (f"\r\n{data}" if data is not None else "")


def text_fields(sms: Any, cscs: str) -> tuple[str, str | None]:
    """Text-mode header fields after <stat> (without CSDH extras), and the data line:
    DELIVER `<oa>,[<alpha>],<scts>`; SUBMIT `<da>,[<alpha>]`; STATUS-REPORT
    `<fo>,<mr>,<ra>,<tora>,<scts>,<dt>,<st>` with no data line. UCS-2 and 8-bit data
    are shown as hex, GSM text in the AT+CSCS character set."""
    if sms.type == "SMS-STATUS-REPORT":
        tora = 145 if sms.number.startswith("+") else 129
        return (
            f'6,{sms.message_reference},"{sms.number}",{tora},'
            f'"{time_string(sms.timestamp)}","{time_string(sms.discharge_time)}",{sms.status}',
            None,
        )
    if sms.encoding == "ucs2":
        data = sms.text.encode("utf-16-be").hex().upper()
    elif sms.encoding == "8bit":
        data = sms.text
    else:
        data = te_string(cscs, sms.text)
    address = te_string(cscs, sms.number)
    if sms.type == "SMS-SUBMIT":
        return f'"{address}",', data
    return f'"{address}",,"{time_string(sms.timestamp)}"', data


def text_mode_submit(number: str, toda: int, text: str, fo: int) -> list[Any]:
    """SMS-SUBMIT for a text-mode AT+CMGS/CMGW; AT+CSMP <fo> says whether a status
    report is requested (bit 0x20, TP-SRR)."""
    if toda == 145 and not number.startswith("+"):
        number = "+" + number
    return encode_submit(number, text, status_report=bool(fo & _FO_STATUS_REPORT))


def time_string(when: datetime | None) -> str:
    """27.005 time-string `yy/MM/dd,hh:mm:ss±zz` (zz in quarters of an hour)."""
    return when.strftime("%y/%m/%d,%H:%M:%S") + tz_suffix(when) if when else ""


def tz_suffix(when: datetime) -> str:
    offset = when.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset else 0
    return f"{quarters:+03d}"
