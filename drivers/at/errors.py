"""What to do about a failed AT command: the +CMS / +CME code tables.

Every code maps to an `Action` for the message being sent:

- `RETRY_SAME`: transient (network timeout, congestion, SMSC busy). Send it
  again on this modem, later.
- `RETRY_OTHER_MODEM`: this SIM or its network cannot send now (no service,
  barring, no SMS subscription, SMSC unknown). Another modem may.
- `PERMANENT`: the message itself is wrong (unallocated number, bad PDU,
  unsupported TPDU, text too long). No modem will send it.
- `MODEM_FAULT`: the modem needs attention (ME failure, SIM missing or locked,
  memory failure). Take it out of rotation; send the message elsewhere.

The descriptions are the names the specifications give each code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from drivers._exceptions import (
    AtError,
    AtProtocolError,
    CmeError,
    CmsError,
    CommandError,
    ModemgateError,
    ModemGone,
    ModemTimeout,
    PduError,
)

__all__ = [
    "Action",
    "ErrorInfo",
    "CMS_ERRORS",
    "CME_ERRORS",
    "classify",
    "is_vague",
    "cms_action",
    "cme_action",
    "describe_cms",
    "describe_cme",
    "cms_code_from_text",
    "cme_code_from_text",
]


class Action(enum.StrEnum):
    """What the sender should do with a message after an error."""

    RETRY_SAME = "retry_same"
    RETRY_OTHER_MODEM = "retry_other_modem"
    PERMANENT = "permanent"
    MODEM_FAULT = "modem_fault"


class ErrorInfo(NamedTuple):
    """One row of a code table."""

    description: str
    action: Action


_S = Action.RETRY_SAME
_O = Action.RETRY_OTHER_MODEM
_P = Action.PERMANENT
_F = Action.MODEM_FAULT

# +CMS ERROR <err>: 3GPP TS 27.005 §3.2.5.
_CMS: dict[int, tuple[str, Action]] = {
    # 0...127: RP-cause values, 3GPP TS 24.011 Annex E-2 (mobile originating
    # SM-transfer), as 27.005 §3.2.5 prescribes.
    1: ("Unassigned (unallocated) number", _P),
    8: ("Operator determined barring", _O),  # barring of this subscriber (often: no credit)
    10: ("Call barred", _O),  # outgoing SMS barred for this SIM
    21: ("Short message transfer rejected", _O),  # network policy for this SIM
    27: ("Destination out of service", _S),
    28: ("Unidentified subscriber", _O),  # the network does not know *our* SIM
    29: ("Facility rejected", _O),
    30: ("Unknown subscriber", _P),
    # 24.011 says 38 is likely to last "a relatively long period", 41 is not:
    # so 38 moves the message to another modem and 41 retries here.
    38: ("Network out of order", _O),
    41: ("Temporary failure", _S),
    42: ("Congestion", _S),
    47: ("Resources unavailable, unspecified", _S),
    50: ("Requested facility not subscribed", _O),
    69: ("Requested facility not implemented", _O),
    81: ("Invalid short message transfer reference value", _S),
    95: ("Invalid message, unspecified", _P),
    96: ("Invalid mandatory information", _P),
    # 97-99 and 111 are RP protocol errors between modem and network, not
    # faults of the message.
    97: ("Message type non-existent or not implemented", _O),
    98: ("Message not compatible with short message protocol state", _S),
    99: ("Information element non-existent or not implemented", _O),
    111: ("Protocol error, unspecified", _S),
    127: ("Interworking, unspecified", _S),
    # 128...255: TP-Failure-Cause values, 3GPP TS 23.040 §9.2.3.22.
    128: ("Telematic interworking not supported", _P),
    129: ("Short message Type 0 not supported", _P),
    130: ("Cannot replace short message", _P),
    143: ("Unspecified TP-PID error", _P),
    144: ("Data coding scheme (alphabet) not supported", _P),
    145: ("Message class not supported", _P),
    159: ("Unspecified TP-DCS error", _P),
    160: ("Command cannot be actioned", _P),
    161: ("Command unsupported", _P),
    175: ("Unspecified TP-Command error", _P),
    176: ("TPDU not supported", _P),
    192: ("SC busy", _S),
    193: ("No SC subscription", _O),
    194: ("SC system failure", _S),
    195: ("Invalid SME address", _P),
    196: ("Destination SME barred", _P),
    # The SC already holds a message with this reference: sending again would
    # deliver it twice.
    197: ("SM Rejected-Duplicate SM", _P),
    198: ("TP-VPF not supported", _P),
    199: ("TP-VP not supported", _P),
    208: ("(U)SIM SMS storage full", _F),
    209: ("No SMS storage capability in (U)SIM", _F),
    210: ("Error in MS", _F),
    211: ("Memory capacity exceeded", _F),
    212: ("(U)SIM Application Toolkit busy", _S),
    213: ("(U)SIM data download error", _F),
    255: ("Unspecified error cause", _S),
    # 300...511: ME/TA errors, 27.005 §3.2.5.
    300: ("ME failure", _F),
    301: ("SMS service of ME reserved", _S),
    302: ("Operation not allowed", _F),  # usually: modem not ready or in the wrong mode
    303: ("Operation not supported", _F),
    304: ("Invalid PDU mode parameter", _P),
    305: ("Invalid text mode parameter", _P),
    310: ("(U)SIM not inserted", _F),
    311: ("(U)SIM PIN required", _F),
    312: ("PH-(U)SIM PIN required", _F),
    313: ("(U)SIM failure", _O),
    314: ("(U)SIM busy", _S),
    315: ("(U)SIM wrong", _F),
    316: ("(U)SIM PUK required", _F),
    317: ("(U)SIM PIN2 required", _F),
    318: ("(U)SIM PUK2 required", _F),
    320: ("Memory failure", _F),
    321: ("Invalid memory index", _P),
    322: ("Memory full", _F),
    330: ("SMSC address unknown", _O),  # this SIM has no SMSC configured
    331: ("No network service", _O),
    332: ("Network timeout", _S),
    340: ("No +CNMA acknowledgement expected", _S),
    500: ("Unknown error", _S),
}

# +CME ERROR <err>: 3GPP TS 27.007 §9.2.
_CME: dict[int, tuple[str, Action]] = {
    # §9.2.1 General errors.
    0: ("Phone failure", _F),
    1: ("No connection to phone", _F),
    2: ("Phone-adaptor link reserved", _S),
    3: ("Operation not allowed", _F),
    4: ("Operation not supported", _F),
    5: ("PH-SIM PIN required", _F),
    6: ("PH-FSIM PIN required", _F),
    7: ("PH-FSIM PUK required", _F),
    10: ("SIM not inserted", _F),
    11: ("SIM PIN required", _F),
    12: ("SIM PUK required", _F),
    13: ("SIM failure", _O),
    14: ("SIM busy", _S),
    15: ("SIM wrong", _F),
    16: ("Incorrect password", _F),
    17: ("SIM PIN2 required", _F),
    18: ("SIM PUK2 required", _F),
    20: ("Memory full", _F),
    21: ("Invalid index", _P),
    22: ("Not found", _P),
    23: ("Memory failure", _F),
    24: ("Text string too long", _P),
    25: ("Invalid characters in text string", _P),
    26: ("Dial string too long", _P),
    27: ("Invalid characters in dial string", _P),
    30: ("No network service", _O),
    31: ("Network timeout", _S),
    32: ("Network not allowed - emergency calls only", _O),
    40: ("Network personalisation PIN required", _F),
    41: ("Network personalisation PUK required", _F),
    42: ("Network subset personalisation PIN required", _F),
    43: ("Network subset personalisation PUK required", _F),
    44: ("Service provider personalisation PIN required", _F),
    45: ("Service provider personalisation PUK required", _F),
    46: ("Corporate personalisation PIN required", _F),
    47: ("Corporate personalisation PUK required", _F),
    48: ("Hidden key required", _F),
    49: ("EAP method not supported", _F),
    50: ("Incorrect parameters", _P),
    51: ("Command implemented but currently disabled", _F),
    52: ("Command aborted by user", _S),
    53: ("Not attached to network due to MT functionality restrictions", _F),
    54: ("Modem not allowed - MT restricted to emergency calls only", _O),
    55: ("Operation not allowed because of MT functionality restrictions", _F),
    56: ("Fixed dial number only allowed - called number is not a fixed dial number", _O),
    57: ("Temporarily out of service due to other MT usage", _S),
    58: ("Language/alphabet not supported", _P),
    59: ("Unexpected data value", _P),
    60: ("System failure", _S),
    61: ("Data missing", _P),
    62: ("Call barred", _O),
    63: ("Message waiting indication subscription failure", _O),
    100: ("Unknown", _S),
    # §9.2.2 GPRS and EPS-related errors (network reject causes + 100).
    102: ("IMSI unknown in HSS", _O),
    103: ("Illegal MS", _O),
    104: ("IMSI unknown in VLR", _O),
    105: ("IMEI not accepted", _O),
    106: ("Illegal ME", _O),
    107: ("GPRS services not allowed", _O),
    108: ("GPRS services and non-GPRS services not allowed", _O),
    109: ("UE identity cannot be derived by the network", _O),
    110: ("Implicitly detached", _S),
    111: ("PLMN not allowed", _O),
    112: ("Location area not allowed", _O),
    113: ("Roaming not allowed in this location area", _O),
    114: ("GPRS services not allowed in this PLMN", _O),
    115: ("No suitable cells in location area", _O),
    116: ("MSC temporarily not reachable", _S),
    117: ("Network failure", _S),
    118: ("CS domain not available", _O),
    119: ("ESM failure", _S),
    122: ("Congestion", _S),
    124: ("MBMS bearer capabilities insufficient for the service", _O),
    125: ("Not authorized for this CSG", _O),
    126: ("Insufficient resources", _S),
    127: ("Missing or unknown APN", _F),
    128: ("Unknown PDP address or PDP type", _F),
    129: ("User authentication failed", _F),
    130: ("Activation rejected by GGSN, Serving GW or PDN GW", _O),
    131: ("Activation rejected, unspecified", _S),
    132: ("Service option not supported", _O),
    133: ("Requested service option not subscribed", _O),
    134: ("Service option temporarily out of order", _S),
    148: ("Unspecified GPRS error", _S),
    149: ("PDP authentication failure", _F),
    150: ("Invalid mobile class", _F),
    # 257...264: supplementary-service errors above the 27.007 range, used by
    # Qualcomm-based firmware (Huawei, Quectel, SIMCom and others).
    257: ("Network rejected request", _O),
    258: ("Retry operation", _S),
    259: ("Invalid deflected to number", _P),
    260: ("Deflected to own number", _P),
    261: ("Unknown subscriber", _P),
    262: ("Service not available", _O),
    263: ("Unknown class specified", _P),
    264: ("Unknown network message", _S),
}

CMS_ERRORS: Mapping[int, ErrorInfo] = MappingProxyType({code: ErrorInfo(*row) for code, row in _CMS.items()})
CME_ERRORS: Mapping[int, ErrorInfo] = MappingProxyType({code: ErrorInfo(*row) for code, row in _CME.items()})

# Wordings modems use with AT+CMEE=2 that differ from the specification's.
_CMS_ALIASES = {
    "unassigned number": 1,
    "destination out of order": 27,
    "semantically incorrect message": 95,
    "invalid pdu mode": 304,
    "invalid text mode": 305,
    "unknown": 500,
}
_CME_ALIASES = {
    "unknown error": 100,
    "ph-sim puk required": 48,  # name of 48 in older releases of 27.007
    "network personalization pin required": 40,
    "network personalization puk required": 41,
    "network subset personalization pin required": 42,
    "network subset personalization puk required": 43,
    "service provider personalization pin required": 44,
    "service provider personalization puk required": 45,
    "corporate personalization pin required": 46,
    "corporate personalization puk required": 47,
}

# Codes that mean "the modem does not know what went wrong". Once is a
# hiccup; the same again on the same modem points at the modem.
_CMS_VAGUE = frozenset({500})
_CME_VAGUE = frozenset({100})

# Manufacturer-specific codes start here (27.005 §3.2.5: 512...; 27.007 §9.2:
# values 256 and up are outside the general table).
_CMS_VENDOR_FROM = 512
_CME_VENDOR_FROM = 256


def describe_cms(code: int) -> str:
    """Name of a +CMS ERROR code, e.g. 330 -> 'SMSC address unknown'."""
    return _describe(_CMS_TABLE, code)


def describe_cme(code: int) -> str:
    """Name of a +CME ERROR code, e.g. 11 -> 'SIM PIN required'."""
    return _describe(_CME_TABLE, code)


def cms_action(code: int) -> Action:
    """Action for a +CMS ERROR code, with defaults for codes not in the table.

    Unlisted RP causes (below 128) are treated like 41 'temporary failure' and
    unlisted TP-FCS values (128-255, including the application-specific
    0xE0-0xFE) like 255 'unspecified': both RETRY_SAME. Unlisted 256-511 are in
    the ME/TA range and treated like 300 'ME failure'. 512 and up are
    manufacturer-specific and mean different things per vendor (Quectel 512 is
    'SIM not ready', Siemens 512 'user abort'); most seen in the field are
    transient, so RETRY_SAME, and `classify` escalates a repeat to MODEM_FAULT.
    """
    info = CMS_ERRORS.get(code)
    if info is not None:
        return info.action
    if 256 <= code < _CMS_VENDOR_FROM:
        return Action.MODEM_FAULT
    return Action.RETRY_SAME


def cme_action(code: int) -> Action:
    """Action for a +CME ERROR code; RETRY_SAME for codes not in the table
    (mostly manufacturer-specific; `classify` escalates a repeat)."""
    info = CME_ERRORS.get(code)
    if info is not None:
        return info.action
    return Action.RETRY_SAME


def cms_code_from_text(text: str) -> int | None:
    """Code of a +CMS ERROR given as text (AT+CMEE=2), case-insensitive;
    None when the wording is not a known one."""
    return _CMS_BY_TEXT.get(_normalise(text))


def cme_code_from_text(text: str) -> int | None:
    """Code of a +CME ERROR given as text (AT+CMEE=2), case-insensitive,
    e.g. 'SIM PIN required' -> 11; None when the wording is not a known one."""
    return _CME_BY_TEXT.get(_normalise(text))


def classify(error: ModemgateError) -> Action:
    """Action for an error raised while sending a message, met for the first time.

    A timeout, a vanished port or unparseable output is MODEM_FAULT; a PDU that cannot
    be encoded is PERMANENT; a +CMS/+CME code takes its table's action. Vague errors
    (`is_vague`) are RETRY_SAME here: what their repetition means is the sender's
    decision (`gateway.core.policy`), not this table's.
    """
    if isinstance(error, (CmsError, CmeError)):
        table, code = _code_of(error)
        return Action.RETRY_SAME if code is None else table.action(code)
    if isinstance(error, CommandError):
        return Action.RETRY_SAME
    if isinstance(error, (ModemTimeout, ModemGone, AtProtocolError)):
        return Action.MODEM_FAULT
    if isinstance(error, AtError):  # a subclass added later: assume the worst
        return Action.MODEM_FAULT
    if isinstance(error, PduError):
        return Action.PERMANENT
    raise TypeError(f"cannot classify {type(error).__name__}")


def is_vague(error: ModemgateError) -> bool:
    """True for errors that do not say what went wrong: a plain ``ERROR``, CMS 500,
    CME 100, an unknown text or a manufacturer-specific code. Met once, they may be a
    passing glitch; met again in a row on the same modem, they point at the modem."""
    if isinstance(error, (CmsError, CmeError)):
        table, code = _code_of(error)
        return code is None or code in table.vague or (code >= table.vendor_from and code not in table.errors)
    return isinstance(error, CommandError)


def _code_of(error: CmsError | CmeError) -> tuple[_CodeTable, int | None]:
    table = _CMS_TABLE if isinstance(error, CmsError) else _CME_TABLE
    return table, error.code if error.code is not None else table.code_from_text(error.text)


def _describe(table: _CodeTable, code: int) -> str:
    info = table.errors.get(code)
    if info is not None:
        return info.description
    if code >= table.vendor_from:
        return f"Manufacturer-specific error {code}"
    return f"Unknown error {code}"


def _normalise(text: str) -> str:
    # '(U)SIM' and 'SIM', 'PH_SIM' and 'PH-SIM', trailing dots and case all
    # occur for the same code.
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("(u)", ""))


def _text_index(table: Mapping[int, ErrorInfo], aliases: dict[str, int]) -> dict[str, int]:
    index: dict[str, int] = {}
    for code in sorted(table):
        index.setdefault(_normalise(table[code].description), code)
    for text, code in aliases.items():
        index[_normalise(text)] = code
    return index


_CMS_BY_TEXT = _text_index(CMS_ERRORS, _CMS_ALIASES)
_CME_BY_TEXT = _text_index(CME_ERRORS, _CME_ALIASES)


class _CodeTable(NamedTuple):
    """What `classify` and `describe_*` need of the +CMS or the +CME table."""

    errors: Mapping[int, ErrorInfo]
    action: Callable[[int], Action]
    code_from_text: Callable[[str], int | None]
    vague: frozenset[int]
    vendor_from: int


_CMS_TABLE = _CodeTable(CMS_ERRORS, cms_action, cms_code_from_text, _CMS_VAGUE, _CMS_VENDOR_FROM)
_CME_TABLE = _CodeTable(CME_ERRORS, cme_action, cme_code_from_text, _CME_VAGUE, _CME_VENDOR_FROM)
