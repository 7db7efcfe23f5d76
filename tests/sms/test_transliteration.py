"""Opt-in transliteration and the encoding explanation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import PduError
from drivers.sms import decode_pdu, encode_submit, estimate, explain, gsm7, plan
from drivers.sms.transliteration import REPLACEMENTS, transliterate

_TRICKY = st.sampled_from(sorted(REPLACEMENTS) + list("ş’“…éüñ€{Ж😀 aZ"))
TEXTS = st.text(_TRICKY | st.characters(), max_size=300)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, languages=st.lists(st.sampled_from(["tr", "es", "pt", "hi", "ur"]), max_size=2, unique=True))
def test_text_is_never_changed_unless_transliteration_is_enabled(text: str, languages: list[str]) -> None:
    try:
        chosen = plan(text, languages=languages)
        parts = encode_submit("+31628870634", text, languages=languages, ref=3)
    except PduError:
        return  # lone surrogates, > 255 parts: refused with or without the options
    assert chosen.text == text and not chosen.replaced
    assert "".join(decode_pdu(p.pdu).text for p in parts) == text


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_transliteration_changes_text_only_to_save_parts(text: str) -> None:
    try:
        before = estimate(text)
        after = plan(text, transliterate=True)
    except PduError:
        return
    if after.text != text:
        assert after.segments < before.segments
        assert set(after.replaced) <= set(REPLACEMENTS)
    else:
        assert after.segments == before.segments


def test_every_replacement_is_gsm7_and_no_gsm7_character_is_replaced() -> None:
    for original, replacement in REPLACEMENTS.items():
        assert not gsm7.is_representable(original), original
        assert gsm7.is_representable(replacement), original


def test_typographic_text_becomes_gsm7_and_saves_parts() -> None:
    text = "It’s “ready” — don’t wait… " * 4 + "Ünlü café: 50% off, açaí, Şişli, Łódź"
    assert estimate(text).encoding == "ucs2"
    chosen = plan(text, transliterate=True)
    assert chosen.encoding == "gsm7" and chosen.segments < estimate(text).segments
    assert chosen.text.startswith("It's \"ready\" - don't wait... ")
    assert chosen.text.endswith("Ünlü café: 50% off, acai, Sisli, Lodz")


def test_with_a_national_table_its_letters_stay_and_only_the_rest_is_replaced() -> None:
    text = "Şişli’de “büyük” indirim – " * 6
    chosen = plan(text, languages=["tr"], transliterate=True)
    assert "ş" in chosen.text and "Ş" in chosen.text
    assert "’" not in chosen.text and "“" not in chosen.text
    assert chosen.encoding == "gsm7"
    assert chosen.segments < plan(text, languages=["tr"]).segments


def test_nothing_else_is_transliterated() -> None:
    assert transliterate("Привет 😀 日本") == "Привет 😀 日本"
    assert transliterate("éèüñøÆ€{}") == "éèüñøÆ€{}"


def test_explain_names_the_characters_and_the_savings() -> None:
    text = "Sayın müşterimiz, siparişiniz “hazır”. " * 3
    result = explain(text).to_dict()
    assert result["encoding"] == "ucs2"
    forcing = {f["character"]: f for f in result["forcing_ucs2"]}  # type: ignore[attr-defined]
    assert set(forcing) == {"ı", "ş", "“", "”"}
    assert forcing["ş"]["tables"] == ["tr"] and forcing["ş"]["transliteration"] == "s"
    assert forcing["“"]["count"] == 3
    options = {(o["option"], o["language"]): o for o in result["options"]}  # type: ignore[attr-defined]
    before = estimate(text).segments
    assert options["transliterate", None]["segments_before"] == before
    assert options["transliterate", None]["segments_after"] < before
    assert options["transliterate", None]["enabled"] is False
    assert ("national_table", "tr") not in options  # the quotes keep it UCS-2 with the table alone
    both = options["national_table+transliterate", "tr"]
    assert both["encoding"] == "gsm7" and both["replaced"] == ["“", "”"]


def test_explain_of_gsm7_text_has_nothing_to_save() -> None:
    result = explain("Hello {world}").to_dict()
    assert result["forcing_ucs2"] == [] and result["options"] == []
