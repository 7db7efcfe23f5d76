"""A seeded, deterministic corpus of SMS messages for the codec tests and benchmark.

`mixed_corpus()` gives the "mixed 2,000-message corpus": plain GSM-7 text, GSM-7 heavy
with extension characters (^ { } \\ [ ~ ] | € and form feed), UCS-2 text with emoji
(outside the BMP, so surrogate pairs) and UCS-2 in other scripts, 0–1,200 characters,
to national, international and short-code numbers. A share of the messages is built so
that an escape pair or a surrogate pair straddles a part boundary.

The same seed always gives the same corpus (Python's `random.Random` is stable across
versions for `random()`, `randrange()`, `choice()`), so figures and failures reproduce.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

__all__ = ["Message", "mixed_corpus", "SEED", "SIZE"]

SEED = 20261129
SIZE = 2000

Kind = Literal["gsm7", "gsm7_ext", "ucs2_emoji", "ucs2_script", "boundary"]


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    number: str
    text: str
    ucs2: bool  # True when the text needs UCS-2 (not every character has a GSM-7 code)


# Basic-table characters (3GPP TS 23.038 §6.2.1) other than ESC, and the extension table.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_WORDS = (
    "hello meeting tomorrow at the office your code is please call back order shipped "
    "delivery window today between and thanks regards Zoë café Ærø Δ Σ 100% @home £5 ¥20"
).split()
_EMOJI = "😀😂🥲👍🏽🚀🎉❤️🇳🇱👨‍👩‍👧💡🧪📦🔥✅"  # mixes BMP symbols, non-BMP and joiners
_SCRIPTS = (
    "Привет, как дела? Встреча завтра в 10:00. ",
    "مرحبا، موعدك غدا الساعة العاشرة. ",
    "你好，您的验证码是 482913，五分钟内有效。",
    "नमस्ते, आपका ऑर्डर भेज दिया गया है। ",
    "שלום, הפגישה מחר בשעה עשר. ",
    "สวัสดีครับ พรุ่งนี้เจอกัน ",
    "Γειά σου κόσμε ŁÓDŹ čšž ğış ",
    "こんにちは、明日の会議は十時です。",
)


def mixed_corpus(size: int = SIZE, seed: int = SEED) -> list[Message]:
    """`size` messages; the same (size, seed) always gives the same list."""
    rng = random.Random(seed)
    makers = (
        (0.35, "gsm7", _gsm7_plain),
        (0.20, "gsm7_ext", _gsm7_ext),
        (0.17, "ucs2_emoji", _ucs2_emoji),
        (0.15, "ucs2_script", _ucs2_script),
        (0.13, "boundary", _boundary),
    )
    out: list[Message] = []
    for _ in range(size):
        r = rng.random()
        for share, kind, make in makers:  # noqa: B007 (the chosen maker is used after the break)
            if r < share:
                break
            r -= share
        text = make(rng)
        out.append(Message(kind, _number(rng), text, not _is_gsm7(text)))  # type: ignore[arg-type]
    return out


def _length(rng: random.Random) -> int:
    """Mostly single-part texts, a long tail up to 1,200 characters."""
    r = rng.random()
    if r < 0.45:
        return rng.randrange(0, 161)
    if r < 0.80:
        return rng.randrange(161, 480)
    return rng.randrange(480, 1201)


def _gsm7_plain(rng: random.Random) -> str:
    n = _length(rng)
    if rng.random() < 0.5:
        return _words(rng, n)
    return "".join(rng.choice(GSM7_BASIC) for _ in range(n))


def _gsm7_ext(rng: random.Random) -> str:
    n = _length(rng)
    density = rng.choice((0.05, 0.2, 0.5, 1.0))
    chars = [rng.choice(GSM7_EXTENSION) if rng.random() < density else rng.choice(GSM7_BASIC) for _ in range(n)]
    return "".join(chars)


def _ucs2_emoji(rng: random.Random) -> str:
    n = _length(rng)
    out: list[str] = []
    while len(out) < n:
        r = rng.random()
        if r < 0.3:
            out.append(rng.choice(_EMOJI))
        elif r < 0.35:
            out.append(chr(rng.randrange(0x1F300, 0x1FAFF)))  # any non-BMP symbol
        else:
            out.append(rng.choice(GSM7_BASIC + GSM7_EXTENSION))
    return "".join(out[:n])


def _ucs2_script(rng: random.Random) -> str:
    n = _length(rng)
    script = rng.choice(_SCRIPTS)
    out: list[str] = []
    while sum(map(len, out)) < n:
        out.append(script if rng.random() < 0.8 else rng.choice(_WORDS) + " ")
    text = "".join(out)[:n]
    if text and _is_gsm7(text):  # a cut that kept only Latin words: make it need UCS-2
        text = text[:-1] + script[0]
    return text


def _boundary(rng: random.Random) -> str:
    """A pair placed so that it straddles a part limit (160/153/152 septets, 70/67/66 units)."""
    if rng.random() < 0.5:
        limit = rng.choice((160, 153, 152, 306, 305, 304, 459))
        cut = limit + rng.choice((-2, -1, 0, 1))
        head = "".join(rng.choice("abcxyz 0123") for _ in range(max(cut - 1, 0)))
        pair = rng.choice(GSM7_EXTENSION)
        tail = "".join(rng.choice(GSM7_EXTENSION + "abc") for _ in range(rng.randrange(0, 200)))
        return head + pair + tail
    limit = rng.choice((70, 67, 66, 134, 133, 132, 201))
    cut = limit + rng.choice((-2, -1, 0, 1))
    head = "".join(rng.choice("жщыabc") for _ in range(max(cut - 1, 0)))
    tail = "".join(rng.choice("ж😀🚀a") for _ in range(rng.randrange(0, 100)))
    return head + chr(rng.randrange(0x1F600, 0x1F650)) + tail


def _words(rng: random.Random, n: int) -> str:
    out: list[str] = []
    total = 0
    while total < n:
        w = rng.choice(_WORDS)
        out.append(w)
        total += len(w) + 1
    return " ".join(out)[:n]


def _number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:  # international: country code + subscriber number, at most 15 digits
        cc = rng.choice(("1", "7", "31", "33", "44", "49", "86", "91", "234", "358", "971"))
        return "+" + cc + _digits(rng, rng.randrange(6, 16 - len(cc)))
    # National numbers and short codes never start with 00, which dialling reads as the
    # international prefix (and libgammu rewrites to '+').
    if r < 0.90:  # national
        return "0" + rng.choice("123456789") + _digits(rng, rng.randrange(7, 10))
    return rng.choice("123456789") + _digits(rng, rng.randrange(2, 6))  # short code


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


_GSM7_SET = frozenset(GSM7_BASIC + GSM7_EXTENSION)


def _is_gsm7(text: str) -> bool:
    return _GSM7_SET.issuperset(text)
