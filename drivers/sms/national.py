"""National language shift tables of the GSM 7-bit alphabet (3GPP TS 23.038 Annex A, Rel-9 and later).

A message that carries the national language IEs (3GPP TS 23.040 §9.2.3.24.15/16) reads its
septets through a national *locking shift* table (in place of the default alphabet) and/or
escapes (ESC + code) through a national *single shift* table (in place of the extension
table). Spanish has a single shift table only.

Data: TS 23.038 V18.0.0 Annex A, tables A.2.1–A.2.13 (single shift) and A.3.1–A.3.13
(locking shift), as transcribed into one-table-per-file CSV by the gsmcodecs project
(github.com/ndf-zz/gsmcodecs, `lut/`), checked against the spec's layout. Each table is
128 characters, index = septet value; U+FFFD marks a code the table leaves undefined.
Position 0x1B of a locking table is the escape to the single shift table.

One deliberate reading: the published Kannada locking table (A.3.7) shows U+0CAA at both
0x24 and 0x3D; 0x24 sits in the run U+0C9F..U+0CA8 and is read as U+0CA1, as receivers do.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Language", "LANGUAGES", "BY_IDENTIFIER", "UNDEFINED", "language"]

UNDEFINED = "\ufffd"


@dataclass(frozen=True, slots=True)
class Language:
    """One national language of TS 23.038 §6.2.1.2.4 and its tables."""

    code: str  # ISO 639-1, as settings name it
    name: str
    identifier: int  # National Language Identifier, the IE's one data octet (Table 6.2.1.2.4.1)
    locking: str | None  # 128 characters, or None where the spec defines no locking table
    single: str  # 128 characters; UNDEFINED where the single shift table has no character


# Turkish: locking shift A.3.1
_TR_LOCKING = (
    "@\u00a3$\u00a5\u20ac\u00e9\u00f9\u0131\u00f2\u00c7\n\u011e\u011f\r\u00c5\u00e5"  # 0x00
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1b\u015e\u015f\u00df\u00c9"  # 0x10
    " !\"#\u00a4%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "\u0130ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"  # 0x50
    "\u00e7abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"  # 0x70
)
# Turkish: single shift A.2.1
_TR_SINGLE = (
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\f\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x00
    "\ufffd\ufffd\ufffd\ufffd^\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x10
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd{}\ufffd\ufffd\ufffd\ufffd\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\u011e\ufffd\u0130\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x40
    "\ufffd\ufffd\ufffd\u015e\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\u00e7\ufffd\u20ac\ufffd\u011f\ufffd\u0131\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\u015f\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Spanish: single shift A.2.2
_ES_SINGLE = (
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\u00e7\f\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x00
    "\ufffd\ufffd\ufffd\ufffd^\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x10
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd{}\ufffd\ufffd\ufffd\ufffd\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|\u00c1\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\u00cd\ufffd\ufffd\ufffd\ufffd\ufffd\u00d3"  # 0x40
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u00da\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\u00e1\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\u00ed\ufffd\ufffd\ufffd\ufffd\ufffd\u00f3"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u00fa\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Portuguese: locking shift A.3.3
_PT_LOCKING = (
    "@\u00a3$\u00a5\u00ea\u00e9\u00fa\u00ed\u00f3\u00e7\n\u00d4\u00f4\r\u00c1\u00e1"  # 0x00
    "\u0394_\u00aa\u00c7\u00c0\u221e^\\\u20ac\u00d3|\x1b\u00c2\u00e2\u00ca\u00c9"  # 0x10
    " !\"#\u00ba%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "\u00cdABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\u00c3\u00d5\u00da\u00dc\u00a7"  # 0x50
    "~abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u00e3\u00f5`\u00fc\u00e0"  # 0x70
)
# Portuguese: single shift A.2.3
_PT_SINGLE = (
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u00ea\ufffd\ufffd\ufffd\u00e7\f\u00d4\u00f4\ufffd\u00c1\u00e1"  # 0x00
    "\ufffd\ufffd\u03a6\u0393^\u03a9\u03a0\u03a8\u03a3\u0398\ufffd\ufffd\ufffd\ufffd\ufffd\u00ca"  # 0x10
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd{}\ufffd\ufffd\ufffd\ufffd\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|\u00c0\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\u00cd\ufffd\ufffd\ufffd\ufffd\ufffd\u00d3"  # 0x40
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u00da\ufffd\ufffd\ufffd\ufffd\ufffd\u00c3\u00d5\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\u00c2\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\u00ed\ufffd\ufffd\ufffd\ufffd\ufffd\u00f3"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u00fa\ufffd\ufffd\ufffd\ufffd\ufffd\u00e3\u00f5\ufffd\ufffd\u00e2"  # 0x70
)

# Bengali: locking shift A.3.4
_BN_LOCKING = (
    "\u0981\u0982\u0983\u0985\u0986\u0987\u0988\u0989\u098a\u098b\n\u098c\ufffd\r\ufffd\u098f"  # 0x00
    "\u0990\ufffd\ufffd\u0993\u0994\u0995\u0996\u0997\u0998\u0999\u099a\x1b\u099b\u099c\u099d\u099e"  # 0x10
    " !\u099f\u09a0\u09a1\u09a2\u09a3\u09a4)(\u09a5\u09a6'\u09a7.\u09a8"  # 0x20
    "0123456789:;\ufffd\u09aa\u09ab?"  # 0x30
    "\u09ac\u09ad\u09ae\u09af\u09b0\ufffd\u09b2\ufffd\ufffd\ufffd\u09b6\u09b7\u09b8\u09b9\u09bc\u09bd"  # 0x40
    "\u09be\u09bf\u09c0\u09c1\u09c2\u09c3\u09c4\ufffd\ufffd\u09c7\u09c8\ufffd\ufffd\u09cb\u09cc\u09cd"  # 0x50
    "\u09ceabcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u09d7\u09dc\u09dd\u09f0\u09f1"  # 0x70
)
# Bengali: single shift A.2.4
_BN_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u09e6\u09e7\ufffd\u09e8\u09e9\u09ea\u09eb"  # 0x10
    "\u09ec\u09ed\u09ee\u09ef\u09df\u09e0\u09e1\u09e2{}\u09e3\u09f2\u09f3\u09f4\u09f5\\"  # 0x20
    "\u09f6\u09f7\u09f8\u09f9\u09fa\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Gujarati: locking shift A.3.5
_GU_LOCKING = (
    "\u0a81\u0a82\u0a83\u0a85\u0a86\u0a87\u0a88\u0a89\u0a8a\u0a8b\n\u0a8c\u0a8d\r\ufffd\u0a8f"  # 0x00
    "\u0a90\u0a91\ufffd\u0a93\u0a94\u0a95\u0a96\u0a97\u0a98\u0a99\u0a9a\x1b\u0a9b\u0a9c\u0a9d\u0a9e"  # 0x10
    " !\u0a9f\u0aa0\u0aa1\u0aa2\u0aa3\u0aa4)(\u0aa5\u0aa6'\u0aa7.\u0aa8"  # 0x20
    "0123456789:;\ufffd\u0aaa\u0aab?"  # 0x30
    "\u0aac\u0aad\u0aae\u0aaf\u0ab0\ufffd\u0ab2\u0ab3\ufffd\u0ab5\u0ab6\u0ab7\u0ab8\u0ab9\u0abc\u0abd"  # 0x40
    "\u0abe\u0abf\u0ac0\u0ac1\u0ac2\u0ac3\u0ac4\u0ac5\ufffd\u0ac7\u0ac8\u0ac9\ufffd\u0acb\u0acc\u0acd"  # 0x50
    "\u0ad0abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0ae0\u0ae1\u0ae2\u0ae3\u0af1"  # 0x70
)
# Gujarati: single shift A.2.5
_GU_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0ae6\u0ae7\u0ae8\u0ae9"  # 0x10
    "\u0aea\u0aeb\u0aec\u0aed\u0aee\u0aef\ufffd\ufffd{}\ufffd\ufffd\ufffd\ufffd\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Hindi: locking shift A.3.6
_HI_LOCKING = (
    "\u0901\u0902\u0903\u0905\u0906\u0907\u0908\u0909\u090a\u090b\n\u090c\u090d\r\u090e\u090f"  # 0x00
    "\u0910\u0911\u0912\u0913\u0914\u0915\u0916\u0917\u0918\u0919\u091a\x1b\u091b\u091c\u091d\u091e"  # 0x10
    " !\u091f\u0920\u0921\u0922\u0923\u0924)(\u0925\u0926'\u0927.\u0928"  # 0x20
    "0123456789:;\u0929\u092a\u092b?"  # 0x30
    "\u092c\u092d\u092e\u092f\u0930\u0931\u0932\u0933\u0934\u0935\u0936\u0937\u0938\u0939\u093c\u093d"  # 0x40
    "\u093e\u093f\u0940\u0941\u0942\u0943\u0944\u0945\u0946\u0947\u0948\u0949\u094a\u094b\u094c\u094d"  # 0x50
    "\u0950abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0972\u097b\u097c\u097e\u097f"  # 0x70
)
# Hindi: single shift A.2.6
_HI_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0966\u0967\u0968\u0969"  # 0x10
    "\u096a\u096b\u096c\u096d\u096e\u096f\u0951\u0952{}\u0953\u0954\u0958\u0959\u095a\\"  # 0x20
    "\u095b\u095c\u095d\u095e\u095f\u0960\u0961\u0962\u0963\u0970\u0971\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Kannada: locking shift A.3.7
_KN_LOCKING = (
    "\ufffd\u0c82\u0c83\u0c85\u0c86\u0c87\u0c88\u0c89\u0c8a\u0c8b\n\u0c8c\ufffd\r\u0c8e\u0c8f"  # 0x00
    "\u0c90\ufffd\u0c92\u0c93\u0c94\u0c95\u0c96\u0c97\u0c98\u0c99\u0c9a\x1b\u0c9b\u0c9c\u0c9d\u0c9e"  # 0x10
    " !\u0c9f\u0ca0\u0ca1\u0ca2\u0ca3\u0ca4)(\u0ca5\u0ca6'\u0ca7.\u0ca8"  # 0x20
    "0123456789:;\ufffd\u0caa\u0cab?"  # 0x30
    "\u0cac\u0cad\u0cae\u0caf\u0cb0\u0cb1\u0cb2\u0cb3\ufffd\u0cb5\u0cb6\u0cb7\u0cb8\u0cb9\u0cbc\u0cbd"  # 0x40
    "\u0cbe\u0cbf\u0cc0\u0cc1\u0cc2\u0cc3\u0cc4\ufffd\u0cc6\u0cc7\u0cc8\ufffd\u0cca\u0ccb\u0ccc\u0ccd"  # 0x50
    "\u0cd5abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0cd6\u0ce0\u0ce1\u0ce2\u0ce3"  # 0x70
)
# Kannada: single shift A.2.7
_KN_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0ce6\u0ce7\u0ce8\u0ce9"  # 0x10
    "\u0cea\u0ceb\u0cec\u0ced\u0cee\u0cef\u0cde\u0cf1{}\u0cf2\ufffd\ufffd\ufffd\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Malayalam: locking shift A.3.8
_ML_LOCKING = (
    "\ufffd\u0d02\u0d03\u0d05\u0d06\u0d07\u0d08\u0d09\u0d0a\u0d0b\n\u0d0c\ufffd\r\u0d0e\u0d0f"  # 0x00
    "\u0d10\ufffd\u0d12\u0d13\u0d14\u0d15\u0d16\u0d17\u0d18\u0d19\u0d1a\x1b\u0d1b\u0d1c\u0d1d\u0d1e"  # 0x10
    " !\u0d1f\u0d20\u0d21\u0d22\u0d23\u0d24)(\u0d25\u0d26'\u0d27.\u0d28"  # 0x20
    "0123456789:;\ufffd\u0d2a\u0d2b?"  # 0x30
    "\u0d2c\u0d2d\u0d2e\u0d2f\u0d30\u0d31\u0d32\u0d33\u0d34\u0d35\u0d36\u0d37\u0d38\u0d39\ufffd\u0d3d"  # 0x40
    "\u0d3e\u0d3f\u0d40\u0d41\u0d42\u0d43\u0d44\ufffd\u0d46\u0d47\u0d48\ufffd\u0d4a\u0d4b\u0d4c\u0d4d"  # 0x50
    "\u0d57abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0d60\u0d61\u0d62\u0d63\u0d79"  # 0x70
)
# Malayalam: single shift A.2.8
_ML_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0d66\u0d67\u0d68\u0d69"  # 0x10
    "\u0d6a\u0d6b\u0d6c\u0d6d\u0d6e\u0d6f\u0d70\u0d71{}\u0d72\u0d73\u0d74\u0d75\u0d7a\\"  # 0x20
    "\u0d7b\u0d7c\u0d7d\u0d7e\u0d7f\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Oriya: locking shift A.3.9
_OR_LOCKING = (
    "\u0b01\u0b02\u0b03\u0b05\u0b06\u0b07\u0b08\u0b09\u0b0a\u0b0b\n\u0b0c\ufffd\r\ufffd\u0b0f"  # 0x00
    "\u0b10\ufffd\ufffd\u0b13\u0b14\u0b15\u0b16\u0b17\u0b18\u0b19\u0b1a\x1b\u0b1b\u0b1c\u0b1d\u0b1e"  # 0x10
    " !\u0b1f\u0b20\u0b21\u0b22\u0b23\u0b24)(\u0b25\u0b26'\u0b27.\u0b28"  # 0x20
    "0123456789:;\ufffd\u0b2a\u0b2b?"  # 0x30
    "\u0b2c\u0b2d\u0b2e\u0b2f\u0b30\ufffd\u0b32\u0b33\ufffd\u0b35\u0b36\u0b37\u0b38\u0b39\u0b3c\u0b3d"  # 0x40
    "\u0b3e\u0b3f\u0b40\u0b41\u0b42\u0b43\u0b44\ufffd\ufffd\u0b47\u0b48\ufffd\ufffd\u0b4b\u0b4c\u0b4d"  # 0x50
    "\u0b56abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0b57\u0b60\u0b61\u0b62\u0b63"  # 0x70
)
# Oriya: single shift A.2.9
_OR_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0b66\u0b67\u0b68\u0b69"  # 0x10
    "\u0b6a\u0b6b\u0b6c\u0b6d\u0b6e\u0b6f\u0b5c\u0b5d{}\u0b5f\u0b70\u0b71\ufffd\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Punjabi: locking shift A.3.10
_PA_LOCKING = (
    "\u0a01\u0a02\u0a03\u0a05\u0a06\u0a07\u0a08\u0a09\u0a0a\ufffd\n\ufffd\ufffd\r\ufffd\u0a0f"  # 0x00
    "\u0a10\ufffd\ufffd\u0a13\u0a14\u0a15\u0a16\u0a17\u0a18\u0a19\u0a1a\x1b\u0a1b\u0a1c\u0a1d\u0a1e"  # 0x10
    " !\u0a1f\u0a20\u0a21\u0a22\u0a23\u0a24)(\u0a25\u0a26'\u0a27.\u0a28"  # 0x20
    "0123456789:;\ufffd\u0a2a\u0a2b?"  # 0x30
    "\u0a2c\u0a2d\u0a2e\u0a2f\u0a30\ufffd\u0a32\u0a33\ufffd\u0a35\u0a36\ufffd\u0a38\u0a39\u0a3c\ufffd"  # 0x40
    "\u0a3e\u0a3f\u0a40\u0a41\u0a42\ufffd\ufffd\ufffd\ufffd\u0a47\u0a48\ufffd\ufffd\u0a4b\u0a4c\u0a4d"  # 0x50
    "\u0a51abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0a70\u0a71\u0a72\u0a73\u0a74"  # 0x70
)
# Punjabi: single shift A.2.10
_PA_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0a66\u0a67\u0a68\u0a69"  # 0x10
    "\u0a6a\u0a6b\u0a6c\u0a6d\u0a6e\u0a6f\u0a59\u0a5a{}\u0a5b\u0a5c\u0a5e\u0a75\ufffd\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Tamil: locking shift A.3.11
_TA_LOCKING = (
    "\ufffd\u0b82\u0b83\u0b85\u0b86\u0b87\u0b88\u0b89\u0b8a\ufffd\n\ufffd\ufffd\r\u0b8e\u0b8f"  # 0x00
    "\u0b90\ufffd\u0b92\u0b93\u0b94\u0b95\ufffd\ufffd\ufffd\u0b99\u0b9a\x1b\ufffd\u0b9c\ufffd\u0b9e"  # 0x10
    " !\u0b9f\ufffd\ufffd\ufffd\u0ba3\u0ba4)(\ufffd\ufffd'\ufffd.\u0ba8"  # 0x20
    "0123456789:;\u0ba9\u0baa\ufffd?"  # 0x30
    "\ufffd\ufffd\u0bae\u0baf\u0bb0\u0bb1\u0bb2\u0bb3\u0bb4\u0bb5\u0bb6\u0bb7\u0bb8\u0bb9\ufffd\ufffd"  # 0x40
    "\u0bbe\u0bbf\u0bc0\u0bc1\u0bc2\ufffd\ufffd\ufffd\u0bc6\u0bc7\u0bc8\ufffd\u0bca\u0bcb\u0bcc\u0bcd"  # 0x50
    "\u0bd0abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0bd7\u0bf0\u0bf1\u0bf2\u0bf9"  # 0x70
)
# Tamil: single shift A.2.11
_TA_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0964\u0965\ufffd\u0be6\u0be7\u0be8\u0be9"  # 0x10
    "\u0bea\u0beb\u0bec\u0bed\u0bee\u0bef\u0bf3\u0bf4{}\u0bf5\u0bf6\u0bf7\u0bf8\u0bfa\\"  # 0x20
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Telugu: locking shift A.3.12
_TE_LOCKING = (
    "\u0c01\u0c02\u0c03\u0c05\u0c06\u0c07\u0c08\u0c09\u0c0a\u0c0b\n\u0c0c\ufffd\r\u0c0e\u0c0f"  # 0x00
    "\u0c10\ufffd\u0c12\u0c13\u0c14\u0c15\u0c16\u0c17\u0c18\u0c19\u0c1a\x1b\u0c1b\u0c1c\u0c1d\u0c1e"  # 0x10
    " !\u0c1f\u0c20\u0c21\u0c22\u0c23\u0c24)(\u0c25\u0c26'\u0c27.\u0c28"  # 0x20
    "0123456789:;\ufffd\u0c2a\u0c2b?"  # 0x30
    "\u0c2c\u0c2d\u0c2e\u0c2f\u0c30\u0c31\u0c32\u0c33\ufffd\u0c35\u0c36\u0c37\u0c38\u0c39\ufffd\u0c3d"  # 0x40
    "\u0c3e\u0c3f\u0c40\u0c41\u0c42\u0c43\u0c44\ufffd\u0c46\u0c47\u0c48\ufffd\u0c4a\u0c4b\u0c4c\u0c4d"  # 0x50
    "\u0c55abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0c56\u0c60\u0c61\u0c62\u0c63"  # 0x70
)
# Telugu: single shift A.2.12
_TE_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\ufffd\ufffd\ufffd\u0c66\u0c67\u0c68\u0c69"  # 0x10
    "\u0c6a\u0c6b\u0c6c\u0c6d\u0c6e\u0c6f\u0c58\u0c59{}\u0c78\u0c79\u0c7a\u0c7b\u0c7c\\"  # 0x20
    "\u0c7d\u0c7e\u0c7f\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd[~]\ufffd"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

# Urdu: locking shift A.3.13
_UR_LOCKING = (
    "\u0627\u0622\u0628\u067b\u0680\u067e\u06a6\u062a\u06c2\u067f\n\u0679\u067d\r\u067a\u067c"  # 0x00
    "\u062b\u062c\u0681\u0684\u0683\u0685\u0686\u0687\u062d\u062e\u062f\x1b\u068c\u0688\u0689\u068a"  # 0x10
    " !\u068f\u068d\u0630\u0631\u0691\u0693)(\u0699\u0632'\u0696.\u0698"  # 0x20
    "0123456789:;\u069a\u0633\u0634?"  # 0x30
    "\u0635\u0636\u0637\u0638\u0639\u0641\u0642\u06a9\u06aa\u06ab\u06af\u06b3\u06b1\u0644\u0645\u0646"  # 0x40
    "\u06ba\u06bb\u06bc\u0648\u06c4\u06d5\u06c1\u06be\u0621\u06cc\u06d0\u06d2\u064d\u0650\u064f\u0657"  # 0x50
    "\u0654abcdefghijklmno"  # 0x60
    "pqrstuvwxyz\u0655\u0651\u0653\u0656\u0670"  # 0x70
)
# Urdu: single shift A.2.13
_UR_SINGLE = (
    "@\u00a3$\u00a5\u00bf\"\u00a4%&'\f*+\ufffd-/"  # 0x00
    "<=>\u00a1^\u00a1_#*\u0600\u0601\ufffd\u06f0\u06f1\u06f2\u06f3"  # 0x10
    "\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9\u060c\u060d{}\u060e\u060f\u0610\u0611\u0612\\"  # 0x20
    "\u0613\u0614\u061b\u061f\u0640\u0652\u0658\u066b\u066c\u0672\u0673\u06cd[~]\u06d4"  # 0x30
    "|ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZ\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x50
    "\ufffd\ufffd\ufffd\ufffd\ufffd\u20ac\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x60
    "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"  # 0x70
)

LANGUAGES: tuple[Language, ...] = (
    Language("tr", "Turkish", 1, _TR_LOCKING, _TR_SINGLE),
    Language("es", "Spanish", 2, None, _ES_SINGLE),
    Language("pt", "Portuguese", 3, _PT_LOCKING, _PT_SINGLE),
    Language("bn", "Bengali", 4, _BN_LOCKING, _BN_SINGLE),
    Language("gu", "Gujarati", 5, _GU_LOCKING, _GU_SINGLE),
    Language("hi", "Hindi", 6, _HI_LOCKING, _HI_SINGLE),
    Language("kn", "Kannada", 7, _KN_LOCKING, _KN_SINGLE),
    Language("ml", "Malayalam", 8, _ML_LOCKING, _ML_SINGLE),
    Language("or", "Oriya", 9, _OR_LOCKING, _OR_SINGLE),
    Language("pa", "Punjabi", 10, _PA_LOCKING, _PA_SINGLE),
    Language("ta", "Tamil", 11, _TA_LOCKING, _TA_SINGLE),
    Language("te", "Telugu", 12, _TE_LOCKING, _TE_SINGLE),
    Language("ur", "Urdu", 13, _UR_LOCKING, _UR_SINGLE),
)
BY_IDENTIFIER = {lang.identifier: lang for lang in LANGUAGES}
_BY_CODE = {lang.code: lang for lang in LANGUAGES}

for _lang in LANGUAGES:
    assert len(_lang.single) == 128 and (_lang.locking is None or len(_lang.locking) == 128), _lang.code


def language(code: str) -> Language:
    """The language for an ISO 639-1 code (`tr`, `es`, `pt`, …); KeyError names the known ones."""
    try:
        return _BY_CODE[code.lower()]
    except KeyError:
        known = ", ".join(_BY_CODE)
        raise KeyError(f"no national shift table for {code!r}; known: {known}") from None
