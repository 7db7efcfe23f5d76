"""GSM 7-bit default alphabet, extension table and septet packing (3GPP TS 23.038 §6).

Goals: exact to the spec, and fast enough in pure Python to keep pace with a C codec.

Plan:
- Characters <-> septets go through the C charmap codec (`codecs.charmap_encode/decode`).
  Extension characters become two septets (ESC 0x1B + code) by a `str.translate` before
  encoding; decoding takes a slow path only when an ESC septet is present.
- Packing septets into octets (and back) is done on one big integer: septet k sits at
  bit 8k when the septets are laid out one per byte, and at bit 7k when packed. Moving
  every septet by k bits is done in log2(n) masked shifts (septet k moves by 2^j at step j
  when bit j of k is set), so a 160-septet part costs eight big-int operations instead of
  160 Python-level loop iterations.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

from drivers._exceptions import PduError

__all__ = [
    "ESCAPE",
    "encode",
    "decode",
    "pack",
    "unpack",
    "septet_length",
    "is_representable",
    "BASIC_TABLE",
    "EXTENSION_TABLE",
]

ESCAPE = 0x1B  # 3GPP TS 23.038 §6.2.1: escape to extension table
_CR = 0x0D

# 3GPP TS 23.038 §6.2.1, default alphabet; index = septet value. Position 0x1B is the
# escape; it is given the (otherwise unrepresentable) ESC character so the charmap codec
# can carry escape pairs through.
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(BASIC_TABLE) == 128

# 3GPP TS 23.038 §6.2.1.1, default alphabet extension table (after ESC).
EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# Septets above 0x7F cannot occur; map them to U+FFFD so garbage never raises here.
_DECODING_TABLE = BASIC_TABLE + "\ufffd" * 128
_ENCODING_MAP = codecs.charmap_build(BASIC_TABLE)
# Text -> text with extension characters spelled as ESC + their basic-table character.
_ESCAPE_TRANSLATION = {ord(ch): "\x1b" + BASIC_TABLE[code] for code, ch in EXTENSION_TABLE.items()}
_EXTENSION_BY_SEPTET = {code: ch for code, ch in EXTENSION_TABLE.items()}
# (ESC + basic-table character, extension character), as charmap-decoded text shows a pair.
_ESCAPE_PAIRS = tuple(("\x1b" + BASIC_TABLE[code], ch) for code, ch in EXTENSION_TABLE.items())
_EXTENSION_CHARS = frozenset(EXTENSION_TABLE.values())
_REPRESENTABLE = frozenset(BASIC_TABLE) - {"\x1b"} | _EXTENSION_CHARS


def is_representable(text: str) -> bool:
    """True when every character of `text` has a GSM-7 code (basic or extension)."""
    return _REPRESENTABLE.issuperset(text)


def septet_length(text: str) -> int:
    """Number of septets `text` takes (extension characters count two)."""
    n = len(text)
    for ch in _EXTENSION_CHARS:
        if ch in text:
            n += text.count(ch)
    return n


def encode(text: str) -> bytes:
    """Text -> septets, one per byte (values 0..127). Raises PduError if not representable."""
    if "\x1b" in text:
        raise PduError(f"character {text.index(chr(27))} (U+001B) has no GSM 7-bit code")
    escaped = text.translate(_ESCAPE_TRANSLATION)
    try:
        return codecs.charmap_encode(escaped, "strict", _ENCODING_MAP)[0]
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start]
        raise PduError(f"character {bad!r} (U+{ord(bad):04X}) has no GSM 7-bit code; use UCS-2") from None


def decode(septets: bytes) -> str:
    """Septets (one per byte) -> text, resolving escape sequences.

    An ESC followed by a code the extension table does not define shows the basic
    character for that code, and ESC ESC (reserved) shows a space, as 23.038 §6.2.1.1
    asks of a receiver without further tables; a lone ESC at the end shows a space.
    """
    text = codecs.charmap_decode(septets, "strict", _DECODING_TABLE)[0]
    if "\x1b" not in text:
        return text
    return _resolve_escapes(text)


def _resolve_escapes(text: str) -> str:
    # Fast path: with no ESC ESC, every ESC starts a pair whose second character is not an
    # ESC, so the pairs cannot overlap and ten C-level replaces resolve them. Anything left
    # (an undefined escape, a lone ESC at the end) goes the septet-by-septet way.
    if "\x1b\x1b" not in text:
        fast = text
        for pair, ch in _ESCAPE_PAIRS:
            if pair in fast:
                fast = fast.replace(pair, ch)
        if "\x1b" not in fast:
            return fast
    return _resolve_escapes_slowly(text)


def _resolve_escapes_slowly(text: str) -> str:
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "\x1b":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            out.append(" ")  # lone escape at the end: nothing to escape to
            i += 1
            continue
        nxt = text[i + 1]
        code = BASIC_TABLE.find(nxt) if nxt != "\ufffd" else -1
        if code == ESCAPE:
            out.append(" ")  # ESC ESC: reserved for a further extension table; show a space
        elif code in _EXTENSION_BY_SEPTET:
            out.append(_EXTENSION_BY_SEPTET[code])
        else:
            out.append(nxt)  # undefined escape: display the basic character
        i += 2
    return "".join(out)


def pack(septets: bytes, fill_bits: int = 0, *, pad_cr: bool = True) -> bytes:
    """Pack septets (one per byte) into octets, after `fill_bits` zero bits.

    With `pad_cr`, when the packed data ends with exactly 7 spare bits they hold CR
    rather than zeros, so the padding cannot be read as '@' (23.038 §6.1.2.3.1).
    """
    n = len(septets)
    if n == 0:
        return b"\x00" if fill_bits else b""
    value = int.from_bytes(septets, "little")
    for shift, mask in _masks(n)[::-1]:
        value = (value & ~(mask << shift)) | ((value >> shift) & mask)
    total_bits = fill_bits + 7 * n
    if pad_cr and total_bits % 8 == 1:
        value |= _CR << (7 * n)
        total_bits += 7
    value <<= fill_bits
    return value.to_bytes((total_bits + 7) // 8, "little")


def unpack(data: bytes, count: int | None = None, skip: int = 0) -> bytes:
    """Unpack octets into septets (one per byte), then drop the first `skip` septets.

    `count` is the number of septets (from TP-UDL); with None, every whole septet in
    `data` is returned and a trailing CR sitting in 7 spare bits is taken as padding.
    Septets past the end of `data` raise PduError.
    """
    if count is None:
        count = len(data) * 8 // 7
        # 7 spare bits at the end can only hold a CR pad when the length is a multiple of 7.
        strip_cr = count > 0 and len(data) % 7 == 0
    else:
        strip_cr = False
        if 7 * count > 8 * len(data):
            raise PduError(f"{count} septets need {(7 * count + 7) // 8} octets, have {len(data)}")
    if count <= 0:
        return b""
    value = int.from_bytes(data, "little")
    value &= (1 << (7 * count)) - 1
    for shift, mask in _masks(count):
        value = (value & ~mask) | ((value & mask) << shift)
    septets = value.to_bytes(count, "little")
    if strip_cr and septets[-1] == _CR:
        septets = septets[:-1]
    return septets[skip:] if skip else septets


@lru_cache(maxsize=512)
def _masks(n: int) -> tuple[tuple[int, int], ...]:
    """Shift steps that move septet k of n from bit 7k to bit 8k (high step first).

    At the step for shift 2^j, the septets whose index has bit j set move left by 2^j;
    doing the largest shifts first keeps every septet clear of its neighbours. The mask
    at each step covers those septets at their positions before that step.
    """
    steps: list[tuple[int, int]] = []
    top = max(n - 1, 0).bit_length()
    positions = [7 * k for k in range(n)]
    for j in range(top - 1, -1, -1):
        shift = 1 << j
        mask = 0
        for k in range(n):
            if k & shift:
                mask |= 0x7F << positions[k]
                positions[k] += shift
        steps.append((shift, mask))
    return tuple(steps)
