"""A campaign's encoding: review and preview say what forces UCS-2 and what the savings would
be, and the send uses the national tables and transliteration exactly as they counted."""

from __future__ import annotations

import sqlalchemy as sa

from drivers.sms import decode_pdu
from gateway import campaigns
from gateway.core.db import session
from gateway.core.models import Message, Part
from gateway.core.smssettings import SmsSettings
from tests.support.campaigns import PUBLIC_URL, T0, Person, audience
from tests.support.dns import resolve

# 3 UCS-2 parts; 2 with the Turkish table; the quotes alone keep it UCS-2 with the table.
TURKISH = (
    "Sayın {{first_name|müşterimiz}}, “kış indirimi” başladı: tüm ürünlerde %30 indirim, kargo bedava. "
    "Teslimat için kuryemiz yarın sizi arayacak; lütfen telefonunuzun açık olduğundan emin olun!"
)
NUMBERS = ["+905320000001", "+905320000002"]


class _Settings:
    public_url = PUBLIC_URL

    def __init__(self, sms: SmsSettings) -> None:
        self.sms = sms


def _campaign(engine, sms: SmsSettings, **fields: object):
    list_id = audience(engine, [Person(n, first_name=None, zone="Europe/Istanbul") for n in NUMBERS])
    with session(engine, write=True) as s:
        data = {"name": "kış", "template": TURKISH, "lists": [list_id], "footer": None, **fields}
        row = campaigns.create(s, data, api_key_id=None, now=T0)
        result = campaigns.review(s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve, sms=sms)
        contact_id = s.execute(sa.text("select min(contact_id) from list_membership")).scalar_one()
        shown = campaigns.preview(s, row.id, contact_id, public_url=PUBLIC_URL, sms=sms)
        s.commit()
        return row.id, result, shown


def test_review_names_the_characters_forcing_ucs2_and_what_would_save_parts(sqlite_engine) -> None:
    _, result, shown = _campaign(sqlite_engine, SmsSettings())
    assert (result.segments_max, result.ucs2) == (3, 2)
    (warning,) = [w for w in result.warnings if w.code == "ucs2"]
    assert "ş (U+015F)" in warning.message and "“ (U+201C)" in warning.message
    explained = result.encoding_explained
    assert explained is not None and explained["encoding"] == "ucs2"
    options = {(o["option"], o["language"]): o for o in explained["options"]}
    assert options["national_table+transliterate", "tr"]["segments_after"] == 2
    assert options["transliterate", None]["segments_after"] < 3
    assert shown.encoding == "ucs2" and shown.segments == 3 and "“kış indirimi”" in shown.text
    assert shown.encoding_explained["forcing_ucs2"]


def test_with_the_turkish_table_and_a_transliterating_campaign_the_send_matches_the_review(sqlite_engine) -> None:
    sms = SmsSettings(languages=["tr"])
    campaign_id, result, shown = _campaign(sqlite_engine, sms, transliterate=True)
    assert result.segments_max == 2 and result.ucs2 == 0
    assert shown.encoding == "gsm7" and shown.segments == 2
    assert '"kış indirimi"' in shown.text  # quotes straightened, Turkish letters kept
    with session(sqlite_engine, write=True) as s:
        campaigns.schedule(s, campaign_id, kind="now", now=T0)
        s.commit()
    assert campaigns.run_due(sqlite_engine, now=T0, settings=_Settings(sms)) == 2
    with sqlite_engine.connect() as conn:
        messages = conn.execute(sa.select(Message.id, Message.text, Message.encoding, Message.parts_total)).all()
        for message_id, text, encoding, parts_total in messages:
            pdus = conn.execute(sa.select(Part.pdu).where(Part.message_id == message_id).order_by(Part.seq)).scalars()
            decoded = [decode_pdu(p) for p in pdus]
            assert "".join(d.text for d in decoded) == text == shown.text
            assert (encoding, parts_total) == ("gsm7", 2)
            assert any(ie.iei in (0x24, 0x25) for ie in decoded[0].udh)


def test_without_the_settings_nothing_changes(sqlite_engine) -> None:
    campaign_id, _, _ = _campaign(sqlite_engine, SmsSettings())
    with session(sqlite_engine, write=True) as s:
        campaigns.schedule(s, campaign_id, kind="now", now=T0)
        s.commit()
    campaigns.run_due(sqlite_engine, now=T0, settings=_Settings(SmsSettings()))
    with sqlite_engine.connect() as conn:
        rows = conn.execute(sa.select(Message.text, Message.encoding, Message.parts_total)).all()
    assert {(r.encoding, r.parts_total) for r in rows} == {("ucs2", 3)}
    assert all("“kış indirimi”" in r.text for r in rows)
