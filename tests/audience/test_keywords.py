"""Inbound keywords: STOP / START / HELP in any case and punctuation, whole message only."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audience.consent import ConsentSettings, classify

SETTINGS = ConsentSettings()
STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
# What people put around or inside a keyword: punctuation, spaces, emoji, line breaks.
NOISE = st.text(alphabet=" .,!?;:-_'\"()*#\n\t…¡¿🛑🙏", max_size=3)


@pytest.mark.parametrize("word", STOP_WORDS)
def test_every_carrier_stop_word_is_a_stop(word):
    keyword = classify(word, SETTINGS)
    assert keyword is not None and keyword.kind == "stop" and keyword.word == word


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Stop!", "stop"),
        ("  stop.  ", "stop"),
        ("S.T.O.P", "stop"),
        ("Stop all", "stop"),
        ("STOP 🛑", "stop"),
        ("ＳＴＯＰ", "stop"),  # full-width letters from an East Asian keyboard
        ("opt-out", "stop"),
        ("Start", "start"),
        ("unstop!", "start"),
        ("help?", "help"),
        ("Info", "help"),
    ],
)
def test_case_punctuation_and_spacing_do_not_matter(text, kind):
    keyword = classify(text, SETTINGS)
    assert keyword is not None and keyword.kind == kind


@pytest.mark.parametrize(
    "text",
    [
        "please stop by the shop",
        "stop it now",
        "STOP STOP",
        "I want to unsubscribe",
        "helpful",
        "stopped",
        "",
        "🛑",
        "ends",
    ],
)
def test_a_keyword_inside_a_sentence_is_not_a_keyword(text):
    assert classify(text, SETTINGS) is None


@settings(max_examples=100, deadline=None)
@given(
    word=st.sampled_from(STOP_WORDS),
    flips=st.lists(st.booleans(), min_size=11, max_size=11),
    noise=st.lists(NOISE, min_size=12, max_size=12),
)
def test_any_casing_and_punctuation_around_and_inside_a_stop_word_is_a_stop(word, flips, noise):
    cased = "".join(ch.lower() if flip else ch for ch, flip in zip(word, flips + [False] * len(word), strict=False))
    text = noise[0] + "".join(ch + noise[i + 1] for i, ch in enumerate(cased))
    keyword = classify(text, SETTINGS)
    assert keyword is not None and (keyword.kind, keyword.word) == ("stop", word), text


@settings(max_examples=100, deadline=None)
@given(
    word=st.sampled_from([*STOP_WORDS, "START", "HELP"]),
    before=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=12),
    after=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=12),
)
def test_a_keyword_with_other_words_around_it_is_not_a_keyword(word, before, after):
    text = f"{before} {word} {after}"
    if not (before + after).strip():
        return  # only the keyword: covered above
    compact = "".join(text.split()).lower()
    # Letters around the word can spell another keyword ("stop" + "all"); only those may match.
    keyword = classify(text, SETTINGS)
    assert keyword is None or keyword.word.replace(" ", "").lower() == compact


def test_dutch_afmelden_is_a_stop_answered_in_dutch():
    keyword = classify("Afmelden.", SETTINGS)
    assert keyword is not None and (keyword.kind, keyword.language) == ("stop", "nl")
    assert "afgemeld" in SETTINGS.reply("stop", keyword.language)


def test_accents_do_not_matter():
    keyword = classify("Arrêt", SETTINGS)
    assert keyword is not None and keyword.kind == "stop" and keyword.language == "fr"


def test_configured_words_are_added_per_language_and_english_stays():
    custom = ConsentSettings(
        keywords={"nl": {"stop": ["HOU OP"], "start": ["AANMELDEN"], "help": ["HULP"]}},
        replies={"nl": {"stop": "Afgemeld.", "start": "Aangemeld.", "help": "Stuur HOU OP."}},
    )
    keyword = classify("hou op!", custom)
    assert keyword is not None and keyword.kind == "stop" and custom.reply("stop", keyword.language) == "Afgemeld."
    assert classify("Afmelden", custom) is None  # the Dutch defaults were replaced
    assert classify("STOP", custom) is not None  # English was left alone


def test_a_word_may_not_mean_two_things():
    with pytest.raises(ValueError, match="already a help word"):
        ConsentSettings(keywords={"xx": {"stop": ["Help"]}})


def test_a_language_without_replies_answers_in_the_fallback_language():
    custom = ConsentSettings(keywords={"pt": {"stop": ["PARE"]}})
    keyword = classify("pare", custom)
    assert keyword is not None and custom.reply("stop", keyword.language) == SETTINGS.reply("stop", "en")


def test_an_unknown_default_time_zone_is_refused():
    with pytest.raises(ValueError, match="IANA"):
        ConsentSettings(default_time_zone="Mars/Olympus")
