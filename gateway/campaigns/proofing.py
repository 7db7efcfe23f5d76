"""Proofing a campaign before it goes: review against its audience, preview one
recipient's text, test send to the team's own phones.

Review streams the audience as it is now (lists + segments − exclude lists) and counts what
expansion would do with it: who may be sent marketing (consent, opt-outs, valid numbers),
how many parts, who falls outside the send window, and the month's quota; whether its
short links would open on a phone (`public_url` not loopback, unspecified or unresolvable)
and whether any recipient's text would come out blank. A draft without errors becomes
`review`, ready to schedule (`gateway.campaigns.lifecycle`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from gateway.audience import consent, contacts
from gateway.audience.numbertype import is_mobile, number_type
from gateway.campaigns import assignment, encoding, links
from gateway.campaigns.compliance import window_opening
from gateway.campaigns.lifecycle import first_due, get
from gateway.campaigns.plan import E164, Plan, audience_batches
from gateway.campaigns.templates import CODE_LENGTH, compile_template, contact_values, short_link
from gateway.core import egress, outbox
from gateway.core.consentsettings import ConsentSettings
from gateway.core.db import save
from gateway.core.errors import InvalidInput
from gateway.core.models import Campaign, Link, Message
from gateway.core.settings import CampaignSettings
from gateway.core.smssettings import SmsSettings

__all__ = ["Issue", "Review", "Preview", "review", "preview", "draft_preview", "test_send", "month_segments"]

MAX_TEST_NUMBERS = 5


@dataclass(frozen=True)
class Issue:
    code: str  # e.g. no_consent, invalid_numbers, missing_token, quota, quiet_hours
    message: str
    count: int | None = None


@dataclass
class Review:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    audience: int = 0
    sendable: int = 0  # valid number, not opted out, with consent
    invalid_numbers: int = 0
    opted_out: int = 0
    no_consent: int = 0
    deferred: int = 0  # outside the send window at the scheduled time: they wait
    segments_min: int = 0
    segments_max: int = 0
    segments_total: int = 0  # over the sendable recipients
    quota: int = 0
    quota_used: int = 0  # parts sent this month so far
    quota_share: float | None = None  # (used + this campaign) / quota
    non_mobile: int = 0  # left out: not a mobile number (unless the campaign includes them)
    non_mobile_types: dict[str, int] = field(default_factory=dict)
    ucs2: int = 0  # recipients whose text goes as UCS-2
    # For the text with the most parts: what forces UCS-2 and what the savings would give.
    encoding_explained: dict[str, Any] | None = None


@dataclass(frozen=True)
class Preview:
    contact_id: int
    number: str
    variant: str | None
    text: str
    encoding: str
    segments: int
    characters: int
    missing_tokens: list[str]
    group: str | None = None  # with a test share: test (gets its variant) or rest (gets the winner)
    pending: str | None = None  # why the text may not be the one sent (the winner is not chosen yet)
    # What forces UCS-2 and what transliteration or a national table would save.
    encoding_explained: dict[str, Any] = field(default_factory=dict)


def review(
    s: Session,
    campaign_id: int,
    *,
    public_url: str,
    now: datetime,
    settings: CampaignSettings | None = None,
    resolver: links.Resolver = egress.resolve_now,
    sms: SmsSettings | None = None,
    consent_settings: ConsentSettings | None = None,
) -> Review:
    """Check a campaign against its audience as it is now (streamed); a draft without errors
    becomes `review` (ready to schedule). `resolver` looks up `public_url`'s host; `sms`
    (national tables, transliteration) decides the parts as the send will."""
    settings = settings or CampaignSettings()
    sms = sms or SmsSettings()
    costliest = ""
    row = get(s, campaign_id)
    result = Review()
    try:
        plan = Plan.of(s, row, public_url, settings.link_domains)
        if consent_settings is not None:
            plan.consent = consent_settings  # the operator's footers by language
    except InvalidInput as exc:
        result.errors.append(Issue("invalid_template", str(exc)))
        return result
    public_url = plan.public_url
    if plan.max_urls and (dead := links.unreachable(public_url, resolver)) is not None:
        severity, why = dead
        issue = Issue(
            "unreachable_links",
            f"short links would point at {public_url.rstrip('/')}: {why}; "
            "set public_url (or the brand's link domain) to the address phones reach the gateway at",
        )
        (result.errors if severity == "error" else result.warnings).append(issue)
    blank = 0
    missing: Counter[str] = Counter()
    segments: list[int] = []
    due_at = first_due(row, now)
    zones: dict[str, bool] = {}
    placeholder = ["x" * CODE_LENGTH] * 8
    exact = plan.arms is not None and not assignment.assigned(s, campaign_id)
    for batch in audience_batches(s, row, settings.expansion_batch, after=0):
        states = consent.states(s, [c.number for c in batch if E164.match(c.number)])
        placed: dict[int, assignment.Place] = {}
        if plan.arms is not None:  # each contact's variant is decided here, once
            ids = [c.id for c in batch if E164.match(c.number)]
            assignment.assign_batch(s, plan.arms, ids, exact=exact)
            placed = assignment.places(s, plan.arms, ids)
        for contact in batch:
            result.audience += 1
            if not E164.match(contact.number):
                result.invalid_numbers += 1
                continue
            kind, suppressed = states[contact.number]
            if suppressed:
                result.opted_out += 1
                continue
            if kind != "opt_in":
                result.no_consent += 1
                continue
            if not row.include_non_mobile and not is_mobile(contact.number):
                result.non_mobile += 1
                line = number_type(contact.number)
                result.non_mobile_types[line] = result.non_mobile_types.get(line, 0) + 1
                continue
            result.sendable += 1
            template, _, _ = plan.placed(placed.get(contact.id))
            values = contact_values(contact.number, contact.first_name, contact.last_name, contact.custom_fields)
            missing.update(template.missing(values))
            short = [short_link(public_url, c) for c in placeholder]
            if not template.render(values, short).strip():  # only the brand and footer would go
                blank += 1
                continue
            text = plan.text(template, values, short, contact.locale)
            try:
                sent = encoding.plan_text(text, row, sms)
            except InvalidInput as exc:
                result.errors.append(Issue("invalid_text", f"contact {contact.id}: {exc}"))
                return result
            if not segments or sent.segments > max(segments):
                costliest = text
            segments.append(sent.segments)
            result.ucs2 += sent.encoding == "ucs2"
            when = due_at(contact.time_zone)
            key = f"{contact.time_zone}|{when.isoformat()}"
            if key not in zones:
                zones[key] = window_opening(when, contact.time_zone, row.window_start, row.window_end) is not None
            result.deferred += zones[key]
    if segments:
        result.segments_min, result.segments_max, result.segments_total = min(segments), max(segments), sum(segments)
        result.encoding_explained = encoding.explained(costliest, row, sms)
        if result.ucs2:
            why = encoding.ucs2_summary(result.encoding_explained)
            result.warnings.append(Issue("ucs2", f"{result.ucs2} recipients' texts go as {why}", result.ucs2))
    if result.audience == 0:
        result.errors.append(Issue("empty_audience", "the audience has no contacts"))
    elif result.sendable == 0:
        result.errors.append(Issue("nothing_to_send", "no contact in the audience may be sent marketing"))
    if blank:
        result.errors.append(
            Issue(
                "blank_text",
                f"the template comes out blank for {blank} recipients (a token without a value or default?)",
                blank,
            )
        )
    if result.invalid_numbers:
        result.warnings.append(
            Issue("invalid_numbers", f"{result.invalid_numbers} contacts have no valid number", result.invalid_numbers)
        )
    if result.opted_out:
        result.warnings.append(
            Issue("opted_out", f"{result.opted_out} contacts opted out: nothing goes to them", result.opted_out)
        )
    if result.no_consent:
        result.warnings.append(
            Issue(
                "no_consent",
                f"{result.no_consent} contacts gave no consent to marketing: nothing goes to them",
                result.no_consent,
            )
        )
    if result.non_mobile:
        kinds = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(result.non_mobile_types.items()))
        result.warnings.append(
            Issue(
                "non_mobile",
                f"{result.non_mobile} contacts have numbers that are not mobile ({kinds}): nothing goes to them "
                "unless the campaign sets include_non_mobile",
                result.non_mobile,
            )
        )
    for token, count in sorted(missing.items()):
        result.warnings.append(
            Issue("missing_token", f"{{{{{token}}}}} has no value (and no default) for {count} recipients", count)
        )
    if result.deferred:
        result.warnings.append(
            Issue(
                "quiet_hours",
                f"{result.deferred} recipients are outside {row.window_start}-{row.window_end} local time then: they wait for the window",
                result.deferred,
            )
        )
    if result.segments_max > 1:
        result.warnings.append(
            Issue(
                "multipart",
                f"up to {result.segments_max} parts per recipient, {result.segments_total} in all",
                result.segments_max,
            )
        )
    result.quota = settings.monthly_segment_quota
    result.quota_used = month_segments(s, now)
    if result.quota:
        result.quota_share = (result.quota_used + result.segments_total) / result.quota
        if result.quota_share > 1:
            result.errors.append(
                Issue(
                    "quota",
                    f"{result.quota_used} + {result.segments_total} parts exceed the monthly quota of {result.quota}",
                )
            )
        elif result.quota_share >= settings.quota_warning:
            result.warnings.append(
                Issue("quota", f"{result.quota_share:.0%} of the monthly quota of {result.quota} parts")
            )
    if not result.errors and row.status == "draft":
        row.status = "review"
        save(s, row, now=now)
    return result


def preview(
    s: Session,
    campaign_id: int,
    contact_id: int,
    *,
    public_url: str,
    link_domains: Mapping[str, str] | None = None,
    sms: SmsSettings | None = None,
    consent_settings: ConsentSettings | None = None,
) -> Preview:
    """The text one contact gets, as sent, in the variant they are assigned: its short links
    are the contact's own once its message is made, a placeholder code before; transliterated
    when `sms` or the campaign allows it and that saves parts."""
    sms = sms or SmsSettings()
    row = get(s, campaign_id)
    contact = contacts.get_contact(s, contact_id)
    plan = Plan.of(s, row, public_url, link_domains)
    place, pending = plan.for_contact(s, contact_id)
    template, _, variant = plan.placed(place)
    if place is None and plan.arms is not None:
        variant = None  # not assigned yet: the text shown is the first variant's
    values = contact_values(contact.number, contact.first_name, contact.last_name, contact.custom_fields)
    if consent_settings is not None:
        plan.consent = consent_settings
    short = _short_links(s, campaign_id, contact_id, plan.public_url, len(template.urls))
    text = plan.text(template, values, short, contact.locale)
    sent = encoding.plan_text(text, row, sms)
    return Preview(
        contact_id,
        contact.number,
        variant,
        sent.text,
        sent.encoding,
        sent.segments,
        len(sent.text),
        template.missing(values),
        group=None if place is None or row.test_share is None else ("test" if place.test else "rest"),
        pending=pending,
        encoding_explained=encoding.explained(text, row, sms),
    )


def draft_preview(
    s: Session,
    template: str,
    contact_id: int,
    *,
    brand: str | None,
    footer: str | None,
    public_url: str,
    link_domains: Mapping[str, str] | None = None,
    sms: SmsSettings | None = None,
    consent_settings: ConsentSettings | None = None,
) -> Preview:
    """The text one contact would get from a template not saved anywhere (the editor's live
    preview): rendered as `preview` renders a campaign's, short links as placeholders.
    Reads the contact only; writes nothing."""
    sms = sms or SmsSettings()
    compiled = compile_template(template)
    brand, footer = (brand or "").strip() or None, (footer or "").strip() or None
    unsaved = datetime.fromtimestamp(0, UTC)  # the row is never added to `s`
    row = Campaign(
        name="", slug="", template=template, brand=brand, footer=footer, created_at=unsaved, updated_at=unsaved
    )
    contact = contacts.get_contact(s, contact_id)
    url = (link_domains or {}).get(brand or "") or public_url
    plan = Plan(row, [(compiled, None)], [100], [None], url)
    if consent_settings is not None:
        plan.consent = consent_settings
    values = contact_values(contact.number, contact.first_name, contact.last_name, contact.custom_fields)
    short = [short_link(plan.public_url, "x" * CODE_LENGTH)] * len(compiled.urls)
    text = plan.text(compiled, values, short, contact.locale)
    sent = encoding.plan_text(text, row, sms)
    return Preview(
        contact_id,
        contact.number,
        None,
        sent.text,
        sent.encoding,
        sent.segments,
        len(sent.text),
        compiled.missing(values),
        encoding_explained=encoding.explained(text, row, sms),
    )


def _short_links(s: Session, campaign_id: int, contact_id: int, public_url: str, count: int) -> list[str]:
    """The contact's own short links once its message is made, else placeholders."""
    codes = s.execute(
        sa.select(col(Link.code))
        .where(col(Link.campaign_id) == campaign_id, col(Link.contact_id) == contact_id, ~col(Link.test))
        .order_by(col(Link.id))
    ).scalars().all()  # fmt: skip
    if len(codes) != count:
        codes = ["x" * CODE_LENGTH] * count
    return [short_link(public_url, c) for c in codes]


def test_send(
    s: Session,
    campaign_id: int,
    numbers: Sequence[str],
    *,
    region: str,
    public_url: str,
    api_key_id: int | None,
    now: datetime,
    contact_id: int | None = None,
    variant: str | None = None,
    link_domains: Mapping[str, str] | None = None,
    sms: SmsSettings | None = None,
) -> list[Message]:
    """Send the campaign's text to a few numbers (the team's own phones), now.

    Sent as transactional (a proof for its sender, not marketing to them), rendered for
    `contact_id` or with the tokens' defaults, in `variant` (by name) or else the variant
    that contact is assigned (so the proof is what the contact will get). Its links work,
    flagged as a test's: their clicks and conversions stay out of the campaign's figures.
    Commits.
    """
    if not numbers or len(numbers) > MAX_TEST_NUMBERS:
        raise InvalidInput("numbers", f"1 to {MAX_TEST_NUMBERS} numbers")
    row = get(s, campaign_id)
    sms = sms or SmsSettings()
    plan = Plan.of(s, row, public_url, link_domains)
    values: dict[str, Any] = {}
    if contact_id is not None:
        c = contacts.get_contact(s, contact_id)
        values = contact_values(c.number, c.first_name, c.last_name, c.custom_fields)
    if variant is not None:
        if variant not in plan.names:
            raise InvalidInput("variant", f"no variant named {variant!r}")
        template, variant_id, _ = plan.variant(plan.templates[plan.names.index(variant)][1])
    else:
        template, variant_id, _ = plan.placed(plan.for_contact(s, contact_id)[0])
    e164 = [contacts.normalise_number(n, region, field="numbers") for n in numbers]
    sent = []
    for number in e164:
        codes = links.new_codes(len(template.urls))
        text = plan.text(template, values, [short_link(plan.public_url, c) for c in codes])
        submission = outbox.submit(
            s, api_key_id=api_key_id, recipient=number, text=text, now=now,
            languages=sms.languages, transliterate=row.transliterate or sms.transliterate,
        )  # fmt: skip
        for i, code in enumerate(codes):
            s.add(
                Link(
                    code=code, target=plan.targets[variant_id][i], campaign_id=row.id, variant_id=variant_id,
                    contact_id=contact_id, message_id=submission.message.id, test=True, created_at=now,
                )
            )  # fmt: skip
        sent.append(submission.message)
    return sent


def month_segments(s: Session | Connection, now: datetime) -> int:
    """Parts sent since the start of this calendar month (UTC): what the quota counts."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = s.execute(
        sa.select(sa.func.coalesce(sa.func.sum(col(Message.parts_total)), 0)).where(col(Message.sent_at) >= start)
    ).scalar()
    return int(used or 0)
