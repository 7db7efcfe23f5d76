"""Phone numbers: the one way a number given by a person becomes E.164.

Every number the gateway stores or compares (a message's `to`, a contact, an opt-out) goes
through `normalise_number`, so "06 1234 5678" in the Netherlands and "+31612345678" are
the same recipient everywhere.
"""

from __future__ import annotations

import phonenumbers

from gateway.core.errors import InvalidInput

__all__ = ["normalise_number"]


def normalise_number(number: str, region: str, *, field: str = "number") -> str:
    """E.164 for `number` (national numbers read in `region`); InvalidInput naming `field`
    if it is not a valid number of the numbering plan (right length and a known range)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(field, f"{number!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(field, f"{number!r} is not a valid phone number for region {region}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
