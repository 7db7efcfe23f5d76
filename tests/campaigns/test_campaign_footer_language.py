"""The opt-out footer in the contact's language: a campaign that keeps the default footer
gets each contact's language's footer (`[consent.replies.<lang>] footer`), English otherwise."""

from __future__ import annotations

import sqlalchemy as sa

from gateway import campaigns
from gateway.core.consentsettings import DEFAULT_REPLIES, ConsentSettings, Replies
from gateway.core.db import session
from gateway.core.models import Contact, Message
from tests.support.campaigns import PUBLIC_URL, T0, Person, audience
from tests.support.dns import resolve

DUTCH, TURKISH, ENGLISH = "+31610000301", "+31610000302", "+31610000303"
TR_FOOTER = "Çıkmak için STOP yazın"


class _Settings:
    public_url = PUBLIC_URL
    consent = ConsentSettings(
        replies={"tr": Replies(stop="Abonelikten çıktınız.", start="Tekrar abonesiniz.", help="STOP", footer=TR_FOOTER)}
    )


def _run(engine, **fields: object) -> dict[str, str]:
    list_id = audience(engine, [Person(n) for n in (DUTCH, TURKISH, ENGLISH)])
    with engine.begin() as conn:
        for number, locale in ((DUTCH, "nl-NL"), (TURKISH, "tr")):
            conn.execute(sa.update(Contact).where(Contact.number == number).values(locale=locale))
    with session(engine, write=True) as s:
        data = {"name": "sale", "template": "20% off today", "lists": [list_id], **fields}
        row = campaigns.create(s, data, api_key_id=None, now=T0)
        review = campaigns.review(
            s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve, consent_settings=_Settings.consent
        )
        assert not review.errors, review.errors
        dutch_id = s.execute(sa.select(Contact.id).where(Contact.number == DUTCH)).scalar_one()
        shown = campaigns.preview(s, row.id, dutch_id, public_url=PUBLIC_URL, consent_settings=_Settings.consent)
        campaigns.schedule(s, row.id, kind="now", now=T0)
        s.commit()
    campaigns.run_due(engine, now=T0, settings=_Settings())
    with engine.connect() as conn:
        sent = dict(conn.execute(sa.select(Message.recipient, Message.text)).all())
    assert shown.text == sent[DUTCH]
    return sent


def test_the_default_footer_comes_in_each_contacts_language(sqlite_engine) -> None:
    sent = _run(sqlite_engine)
    assert sent[DUTCH].endswith("\n" + DEFAULT_REPLIES["nl"].footer)  # type: ignore[operator]
    assert sent[TURKISH].endswith("\n" + TR_FOOTER)  # from the settings table
    assert sent[ENGLISH].endswith("\nReply STOP to opt out")  # no locale: the English default


def test_a_campaigns_own_footer_is_kept_for_everyone(sqlite_engine) -> None:
    sent = _run(sqlite_engine, footer="STOP to 1234")
    assert all(text.endswith("\nSTOP to 1234") for text in sent.values())
