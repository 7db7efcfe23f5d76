"""Where an A/B campaign's contacts stand: stored assignments, and the rule for the rest.

The first review assigns the audience it streams (`assign_batch`, exact shares by
`abtest.Splitter`); until then a preview cannot say a contact's variant. After it, `place`
answers for one contact — stored, else derived from the ids (`abtest.derived`) — and
`places` for a batch at expansion, storing the derived ones so that the choice is made
once; a later review assigns newcomers the derived way too, as a preview showed them. A change to the variants or the test share clears the campaign's assignments
(`forget`): they were made for other variants.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from gateway.campaigns.abtest import Splitter, derived
from gateway.core.models import CampaignAssignment

__all__ = ["Place", "Arms", "assign_batch", "assigned", "place", "places", "forget"]

_TABLE: sa.Table = CampaignAssignment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Place:
    """A contact's variant (None: the rest of a test-share campaign, who get the winner)."""

    variant_id: int | None
    test: bool


@dataclass(frozen=True)
class Arms:
    """What assignment needs to know of a campaign: its variants' ids and weights, its test share."""

    campaign_id: int
    variant_ids: Sequence[int]
    weights: Sequence[int]
    test_share: int | None

    def derive(self, contact_id: int) -> Place:
        index, test = derived(self.campaign_id, contact_id, self.weights, self.test_share)
        if self.test_share is not None and not test:
            return Place(None, False)
        return Place(self.variant_ids[index], test)


def assign_batch(conn: Connection | Session, arms: Arms, contact_ids: Sequence[int], *, exact: bool = True) -> int:
    """Assign the contacts of one batch that have no place yet, keeping the shares exact over
    every batch so far (in a shuffled order: no pattern by contact id); or, with `exact`
    False (a campaign assigned before: newcomers may have been previewed), as derived.
    Returns how many."""
    stored = _stored(conn, arms.campaign_id, contact_ids)
    new = [c for c in contact_ids if c not in stored]
    if not new:
        return 0
    if not exact:
        return len(places(conn, arms, new))
    counts = _counts(conn, arms)
    groups = Splitter([arms.test_share, 100 - arms.test_share], counts[0]) if arms.test_share is not None else None
    variants = Splitter(arms.weights, counts[1])
    random.Random(f"{arms.campaign_id}:{new[0]}").shuffle(new)
    rows = []
    for contact_id in new:
        if groups is not None and groups.pick() == 1:
            rows.append({"campaign_id": arms.campaign_id, "contact_id": contact_id, "variant_id": None, "test": False})
            continue
        variant = arms.variant_ids[variants.pick()]
        rows.append(
            {"campaign_id": arms.campaign_id, "contact_id": contact_id, "variant_id": variant,
             "test": groups is not None}
        )  # fmt: skip
    conn.execute(sa.insert(_TABLE), rows)
    return len(rows)


def place(conn: Connection | Session, arms: Arms, contact_id: int) -> Place:
    """One contact's place: stored, else derived (and not stored: a preview writes nothing)."""
    return _stored(conn, arms.campaign_id, [contact_id]).get(contact_id) or arms.derive(contact_id)


def places(conn: Connection | Session, arms: Arms, contact_ids: Sequence[int]) -> dict[int, Place]:
    """A batch's places; those not stored yet are derived and stored now."""
    found = _stored(conn, arms.campaign_id, contact_ids)
    missing = [c for c in contact_ids if c not in found]
    if missing:
        new = {c: arms.derive(c) for c in missing}
        conn.execute(
            sa.insert(_TABLE),
            [{"campaign_id": arms.campaign_id, "contact_id": c, "variant_id": p.variant_id, "test": p.test}
             for c, p in new.items()],
        )  # fmt: skip
        found.update(new)
    return found


def assigned(conn: Connection | Session, campaign_id: int) -> bool:
    """Whether the campaign's audience was assigned (by a review) since its variants were set."""
    found = conn.execute(sa.select(_TABLE.c.contact_id).where(_TABLE.c.campaign_id == campaign_id).limit(1))
    return found.first() is not None


def forget(conn: Connection | Session, campaign_id: int) -> None:
    conn.execute(sa.delete(_TABLE).where(_TABLE.c.campaign_id == campaign_id))


def _stored(conn: Connection | Session, campaign_id: int, contact_ids: Sequence[int]) -> dict[int, Place]:
    if not contact_ids:
        return {}
    rows = conn.execute(
        sa.select(_TABLE.c.contact_id, _TABLE.c.variant_id, _TABLE.c.test).where(
            _TABLE.c.campaign_id == campaign_id, _TABLE.c.contact_id.in_(list(contact_ids))
        )
    ).all()
    return {r.contact_id: Place(r.variant_id, bool(r.test)) for r in rows}


def _counts(conn: Connection | Session, arms: Arms) -> tuple[list[int], list[int]]:
    """(test, rest) and per-variant counts of what is already assigned."""
    per_variant = dict.fromkeys(arms.variant_ids, 0)
    test = rest = 0
    for variant_id, is_test, n in conn.execute(
        sa.select(_TABLE.c.variant_id, _TABLE.c.test, sa.func.count())
        .where(_TABLE.c.campaign_id == arms.campaign_id)
        .group_by(_TABLE.c.variant_id, _TABLE.c.test)
    ):
        if variant_id is None:
            rest += n
        else:
            test += n if is_test else 0
            if variant_id in per_variant:
                per_variant[variant_id] += n
    return [test, rest], [per_variant[v] for v in arms.variant_ids]
