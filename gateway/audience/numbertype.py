"""What kind of line a number is, from the numbering plan (phonenumbers' metadata).

A campaign goes to mobiles: a fixed line cannot show a text (some networks read it out by
voice, some drop it), a premium-rate, shared-cost or toll-free number is a service, not a
person. Review and expansion leave such numbers out unless the campaign says
`include_non_mobile`. Where the plan cannot tell a mobile from a fixed line (the North
American plan: `fixed_line_or_mobile`) the number counts as mobile; a valid number of no
known type (`unknown`) does not.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

__all__ = ["NumberType", "NUMBER_TYPES", "MOBILE_TYPES", "number_type", "is_mobile"]

NumberType = Literal[
    "mobile",
    "fixed_line_or_mobile",
    "fixed_line",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "unknown",
]
_NAMES: dict[int, NumberType] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
NUMBER_TYPES: tuple[NumberType, ...] = (*_NAMES.values(), "unknown")
MOBILE_TYPES: frozenset[NumberType] = frozenset({"mobile", "fixed_line_or_mobile"})


@lru_cache(maxsize=65_536)
def number_type(e164: str) -> NumberType:
    """The line type of an E.164 number; `unknown` when the plan does not say (or it does not parse)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "unknown"
    return _NAMES.get(phonenumbers.number_type(parsed), "unknown")


def is_mobile(e164: str) -> bool:
    """True when a campaign may message the number without `include_non_mobile`."""
    return number_type(e164) in MOBILE_TYPES
