"""A campaign made ready to send: its texts compiled, its split, its audience in batches.

Shared by review (`gateway.campaigns.proofing`) and expansion (`gateway.campaigns.expansion`),
so both judge and render a recipient's text the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience import contacts
from gateway.campaigns import links
from gateway.campaigns.lifecycle import variants_of
from gateway.campaigns.templates import DEFAULT_FOOTER, Template, compile_template, compose, short_link
from gateway.core.consentsettings import ConsentSettings
from gateway.core.models import Campaign, Contact, Message

DEFAULT_CONSENT = ConsentSettings()

__all__ = ["E164", "Plan", "audience_batches"]

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # what the outbox takes; other numbers get no message


class Plan:
    """A campaign compiled for rendering: its templates (one per variant), link targets,
    and the running assignment of recipients to variants."""

    def __init__(
        self,
        row: Campaign,
        templates: list[tuple[Template, int | None]],
        splits: list[int],
        names: list[str | None],
        public_url: str,
    ) -> None:
        self.row = row
        self.templates = templates
        self.splits = splits
        self.names = names
        self.link_base = short_link(public_url, "")
        self.max_urls = max(len(t.urls) for t, _ in templates)
        self.targets = {
            vid: [links.with_utm(u, campaign=row.slug, variant=name) for u in t.urls]
            for (t, vid), name in zip(templates, names, strict=True)
        }
        self.assigned = [0] * len(templates)
        # Footers by language: a campaign that keeps the default footer gets the one in each
        # contact's language (`[consent.replies.<lang>] footer`). Callers with the gateway's
        # settings put its consent settings here.
        self.consent = DEFAULT_CONSENT

    @classmethod
    def of(cls, s: Session, row: Campaign, public_url: str) -> Plan:
        variants = variants_of(s, row.id)  # type: ignore[arg-type]
        if not variants:
            return cls(row, [(compile_template(row.template), None)], [100], [None], public_url)
        templates = [(compile_template(v.template, field=f"variants.{v.name}.template"), v.id) for v in variants]
        return cls(row, templates, [v.split for v in variants], [v.name for v in variants], public_url)

    def restore_counts(self, s: Session, campaign_id: int) -> None:
        """After a restart, the split goes on from what was already assigned."""
        ids = [vid for _, vid in self.templates]
        if ids == [None]:
            return
        counts = dict(
            s.exec(
                select(col(Message.variant_id), sa.func.count())
                .where(col(Message.campaign_id) == campaign_id)
                .group_by(col(Message.variant_id))
            ).all()
        )
        self.assigned = [counts.get(vid, 0) for vid in ids]

    def assign(self) -> int:
        """The variant furthest behind its share (largest deficit): splits land exactly."""
        if len(self.templates) == 1:
            return 0
        total = sum(self.assigned) + 1
        best = max(range(len(self.splits)), key=lambda i: self.splits[i] * total / 100 - self.assigned[i])
        self.assigned[best] += 1
        return best

    def pick_preview(self, contact_id: int | None) -> tuple[Template, str | None]:
        """A variant for a preview or review (by contact id, as a stand-in for the split)."""
        if len(self.templates) == 1:
            return self.templates[0][0], self.names[0]
        point = (contact_id or 0) * 37 % 100
        for (template, _), split, name in zip(self.templates, self.splits, self.names, strict=True):
            if point < split:
                return template, name
            point -= split
        return self.templates[-1][0], self.names[-1]

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
