"""SMS codec: GSM-7 / UCS-2 text, concatenation, SMS-SUBMIT / DELIVER / STATUS-REPORT PDUs.

Pure functions, no I/O. Errors are `drivers.PduError`.
"""

from drivers._exceptions import PduError
from drivers.sms.alphabets import Alphabet
from drivers.sms.economics import Explanation, Plan, explain, plan
from drivers.sms.national import LANGUAGES, Language
from drivers.sms.pdu import (
    Sms,
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    StatusCategory,
    SubmitPart,
    TextEncoding,
    decode_pdu,
    encode_deliver,
    encode_status_report,
    encode_submit,
    status_category,
    to_dict,
)
from drivers.sms.segments import Encoding, EncodingChoice, Estimate, Segments, choose_encoding, estimate, split
from drivers.sms.udh import Concat, InformationElement, Ports

__all__ = [
    "Alphabet",
    "Explanation",
    "Plan",
    "LANGUAGES",
    "Language",
    "explain",
    "plan",
    "PduError",
    "Sms",
    "SmsDeliver",
    "SmsSubmit",
    "SmsStatusReport",
    "StatusCategory",
    "SubmitPart",
    "TextEncoding",
    "Encoding",
    "EncodingChoice",
    "Estimate",
    "Segments",
    "Concat",
    "InformationElement",
    "Ports",
    "choose_encoding",
    "decode_pdu",
    "encode_deliver",
    "encode_status_report",
    "encode_submit",
    "estimate",
    "split",
    "status_category",
    "to_dict",
]
