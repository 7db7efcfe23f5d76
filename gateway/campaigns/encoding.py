"""What a campaign's texts cost in parts, as they will be sent: with the `[sms]` national
shift tables and transliteration, and the campaign's own `transliterate` flag.

Review and preview use this, and expansion hands the same options to the outbox, so the parts
counted before the send are the parts sent.
"""

from __future__ import annotations

from typing import Any

from drivers.sms import PduError, Plan, explain, plan
from gateway.core.errors import InvalidInput
from gateway.core.models import Campaign
from gateway.core.smssettings import SmsSettings

__all__ = ["plan_text", "explained", "ucs2_summary"]


def plan_text(text: str, row: Campaign, sms: SmsSettings) -> Plan:
    """The text as sent (transliterated when allowed and cheaper) with its encoding and parts."""
    try:
        return plan(text, languages=sms.languages, transliterate=row.transliterate or sms.transliterate)
    except PduError as exc:
        raise InvalidInput("template", str(exc)) from None


def explained(text: str, row: Campaign, sms: SmsSettings) -> dict[str, Any]:
    """The `encoding_explained` field of review and preview: the characters that force UCS-2
    and what transliteration or a national table would save (`pdu estimate --explain`'s shape)."""
    try:
        result = explain(text, languages=sms.languages, transliterate=row.transliterate or sms.transliterate)
    except PduError as exc:
        raise InvalidInput("template", str(exc)) from None
    return result.to_dict()


def ucs2_summary(explanation: dict[str, Any]) -> str:
    """One sentence for a review warning: which characters, and the best saving on offer."""
    chars = " ".join(f"{f['character']} ({f['code_point']})" for f in explanation["forcing_ucs2"][:8])
    text = f"UCS-2 because of {chars}"
    options = [o for o in explanation["options"] if o["saves"] > 0]
    if options:
        best = options[0]
        how = best["option"].replace("_", " ") + (f" {best['language']}" if best["language"] else "")
        text += f"; {how} would take {best['segments_before']} parts to {best['segments_after']}"
    return text
