"""A campaign made ready to send: its texts compiled, its variants, its audience in batches.

Shared by review (`gateway.campaigns.proofing`) and expansion (`gateway.campaigns.expansion`),
so both judge and render a recipient's text the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from gateway.audience import contacts
from gateway.campaigns import assignment, links
from gateway.campaigns.lifecycle import variants_of
from gateway.campaigns.templates import DEFAULT_FOOTER, Template, compile_template, compose, short_link
from gateway.core.consentsettings import ConsentSettings
from gateway.core.models import Campaign, Contact

DEFAULT_CONSENT = ConsentSettings()

__all__ = ["E164", "Plan", "audience_batches"]

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # what the outbox takes; other numbers get no message


class Plan:
    """A campaign compiled for rendering: its templates (one per variant, or the campaign's
    own), the link targets with their UTM parameters, and where short links point."""

    def __init__(
        self,
        row: Campaign,
        templates: list[tuple[Template, int | None]],
        weights: list[int],
        names: list[str | None],
        public_url: str,
    ) -> None:
        self.row = row
        self.templates = templates
        self.weights = weights
        self.names = names
        self.public_url = public_url
        self.link_base = short_link(public_url, "")
        self.max_urls = max(len(t.urls) for t, _ in templates)
        self.targets = {
            vid: [links.with_utm(u, campaign=row.slug, variant=name, utm=row.utm) for u in t.urls]
            for (t, vid), name in zip(templates, names, strict=True)
        }
        self._index = {vid: i for i, (_, vid) in enumerate(templates)}
        ids = [vid for _, vid in templates if vid is not None]
        self.arms = (
            assignment.Arms(row.id, ids, weights, row.test_share)  # type: ignore[arg-type]
            if ids
            else None
        )
        # Footers by language: a campaign that keeps the default footer gets the one in each
        # contact's language (`[consent.replies.<lang>] footer`). Callers with the gateway's
        # settings put its consent settings here.
        self.consent = DEFAULT_CONSENT

    @classmethod
    def of(cls, s: Session, row: Campaign, public_url: str, link_domains: Mapping[str, str] | None = None) -> Plan:
        """The campaign's plan; its short links live under its brand's link domain when
        `link_domains` names one (`[campaigns] link_domains`), else under `public_url`."""
        url = (link_domains or {}).get(row.brand or "") or public_url
        variants = variants_of(s, row.id)  # type: ignore[arg-type]
        if not variants:
            return cls(row, [(compile_template(row.template), None)], [100], [None], url)
        templates = [(compile_template(v.template, field=f"variants.{v.name}.template"), v.id) for v in variants]
        return cls(row, templates, [v.split for v in variants], [v.name for v in variants], url)

    def variant(self, variant_id: int | None) -> tuple[Template, int | None, str | None]:
        """(template, variant id, variant name) of a variant id (the first when unknown)."""
        i = self._index.get(variant_id, 0)
        return self.templates[i][0], self.templates[i][1], self.names[i]

    def placed(self, place: assignment.Place | None) -> tuple[Template, int | None, str | None]:
        """The template a contact at `place` gets: its variant, or the winner for the rest of
        a test-share campaign (the first variant while no winner is chosen)."""
        if place is None:
            return self.variant(None)
        return self.variant(place.variant_id if place.variant_id is not None else self.row.winner_variant_id)

    def for_contact(
        self, conn: Connection | Session, contact_id: int | None
    ) -> tuple[assignment.Place | None, str | None]:
        """A contact's place (None without variants) and, for the rest group before the
        winner is known, why the text shown may not be the one sent."""
        if self.arms is None or contact_id is None:
            return None, None
        if not assignment.assigned(conn, self.arms.campaign_id):
            return None, "variants are assigned at review"
        place = assignment.place(conn, self.arms, contact_id)
        pending = place.variant_id is None and self.row.winner_variant_id is None
        return place, "the winner of the test, not chosen yet" if pending else None

    def text(
        self, template: Template, values: Mapping[str, Any], short: Sequence[str], locale: str | None = None
    ) -> str:
        """The contact's final text; `locale` (the contact's) picks the default footer's language."""
        footer = self.row.footer
        if footer == DEFAULT_FOOTER:
            footer = self.consent.footer(locale) or footer
        return compose(template.render(values, short), brand=self.row.brand, footer=footer)


def audience_batches(s: Session, row: Campaign, size: int, *, after: int) -> Iterator[Sequence[Any]]:
    """The audience's contacts by id after `after`, `size` at a time (never all at once)."""
    ids = contacts.audience(s, lists=row.lists, segments=row.segments, exclude_lists=row.exclude_lists)
    query = ids.with_only_columns(
        col(Contact.id),
        col(Contact.number),
        col(Contact.first_name),
        col(Contact.last_name),
        col(Contact.custom_fields),
        col(Contact.time_zone),
        col(Contact.locale),
    )
    while True:
        rows = s.execute(query.where(col(Contact.id) > after).limit(size)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id
