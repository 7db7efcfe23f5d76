"""SMS codec throughput: ours against libgammu (python-gammu), on the mixed 2,000-message corpus.

    python -m bench.codec [--repeats N] [--size N] [--markdown]

One run measures, on the same seeded corpus (harness/corpus.py):
- encode: ours `encode_submit` (text -> hex PDUs) vs libgammu `EncodeSMS` + `EncodePDU`
  for every part, as messages/s and parts/s;
- decode: ours `decode_pdu` on the hex a modem prints vs libgammu `DecodePDU` on bytes, as
  parts/s, for the corpus's SMS-SUBMIT parts and for its SMS-DELIVER parts (time stamps).
Each figure is the best of N repeats. Ratios are ours / libgammu (higher is better for us).
Targets: encode >= 1.0x, decode >= 0.5x.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime

import gammu

from drivers.sms import decode_pdu, encode_deliver, encode_submit
from harness.corpus import SEED, SIZE, Message, mixed_corpus

ENCODE_TARGET = 1.0
DECODE_TARGET = 0.5
_NO_SMSC = {"Location": 0, "Number": "", "Validity": "NA", "Format": "Text"}
_WHEN = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def best_of(repeats: int, fn: Callable[[], int]) -> tuple[float, int]:
    """(best wall time in seconds, what fn returned)."""
    best = float("inf")
    result = 0
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _gammu_info(m: Message) -> dict:
    # libgammu's UCS-2 path reads '~' as an escape; doubling it encodes the same text.
    text = m.text.replace("~", "~~") if m.ucs2 else m.text
    return {"Class": -1, "Unicode": m.ucs2, "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}]}


def run(size: int, repeats: int) -> dict[str, float]:
    corpus = mixed_corpus(size)

    def ours_encode() -> int:
        parts = 0
        for i, m in enumerate(corpus):
            parts += len(encode_submit(m.number, m.text, ref=i & 0xFF))
        return parts

    def gammu_encode() -> int:
        parts = 0
        for m in corpus:
            for msg in gammu.EncodeSMS(_gammu_info(m)):
                msg["Number"] = m.number
                msg["SMSC"] = _NO_SMSC
                gammu.EncodePDU(msg)
                parts += 1
        return parts

    submit_hex = [p.pdu for i, m in enumerate(corpus) for p in encode_submit(m.number, m.text, ref=i & 0xFF)]
    deliver_hex = [
        pdu for i, m in enumerate(corpus) for pdu in encode_deliver(m.number, m.text, timestamp=_WHEN, ref=i & 0xFF)
    ]
    submit_bytes = [bytes.fromhex(p) for p in submit_hex]
    deliver_bytes = [bytes.fromhex(p) for p in deliver_hex]

    def ours_decode(pdus: list[str]) -> Callable[[], int]:
        def go() -> int:
            for p in pdus:
                decode_pdu(p)
            return len(pdus)

        return go

    def gammu_decode(pdus: list[bytes]) -> Callable[[], int]:
        def go() -> int:
            for p in pdus:
                gammu.DecodePDU(p)
            return len(pdus)

        return go

    t_oe, parts = best_of(repeats, ours_encode)
    t_ge, gparts = best_of(repeats, gammu_encode)
    t_ods, _ = best_of(repeats, ours_decode(submit_hex))
    t_gds, _ = best_of(repeats, gammu_decode(submit_bytes))
    t_odd, _ = best_of(repeats, ours_decode(deliver_hex))
    t_gdd, _ = best_of(repeats, gammu_decode(deliver_bytes))
    return {
        "messages": len(corpus),
        "parts": parts,
        "gammu_parts": gparts,
        "deliver_parts": len(deliver_hex),
        "ours_encode_msg_s": len(corpus) / t_oe,
        "ours_encode_parts_s": parts / t_oe,
        "gammu_encode_msg_s": len(corpus) / t_ge,
        "gammu_encode_parts_s": gparts / t_ge,
        "ours_decode_submit_s": len(submit_hex) / t_ods,
        "gammu_decode_submit_s": len(submit_hex) / t_gds,
        "ours_decode_deliver_s": len(deliver_hex) / t_odd,
        "gammu_decode_deliver_s": len(deliver_hex) / t_gdd,
    }


def report(r: dict[str, float], repeats: int, markdown: bool) -> str:
    enc = r["ours_encode_msg_s"] / r["gammu_encode_msg_s"]
    dec_s = r["ours_decode_submit_s"] / r["gammu_decode_submit_s"]
    dec_d = r["ours_decode_deliver_s"] / r["gammu_decode_deliver_s"]
    rows = [
        ("encode, messages/s", r["ours_encode_msg_s"], r["gammu_encode_msg_s"], enc, ENCODE_TARGET),
        (
            "encode, parts/s",
            r["ours_encode_parts_s"],
            r["gammu_encode_parts_s"],
            r["ours_encode_parts_s"] / r["gammu_encode_parts_s"],
            ENCODE_TARGET,
        ),
        ("decode SMS-SUBMIT, parts/s", r["ours_decode_submit_s"], r["gammu_decode_submit_s"], dec_s, DECODE_TARGET),
        ("decode SMS-DELIVER, parts/s", r["ours_decode_deliver_s"], r["gammu_decode_deliver_s"], dec_d, DECODE_TARGET),
    ]
    head = (
        f"corpus: {int(r['messages'])} messages (seed {SEED}), {int(r['parts'])} SUBMIT parts "
        f"(libgammu: {int(r['gammu_parts'])}), {int(r['deliver_parts'])} DELIVER parts; best of {repeats}\n"
        f"python {platform.python_version()}, python-gammu {gammu.Version()[1]}, libgammu {gammu.Version()[0]}"
    )
    out = [head, ""]
    if markdown:
        out.append("| measure | ours | libgammu | ours / libgammu | target |")
        out.append("| --- | ---: | ---: | ---: | ---: |")
        for name, ours, theirs, ratio, target in rows:
            out.append(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f}x | >= {target:.1f}x |")
    else:
        out.append(f"{'measure':<30}{'ours':>12}{'libgammu':>12}{'ratio':>9}{'target':>9}")
        for name, ours, theirs, ratio, target in rows:
            mark = "" if ratio >= target else "  MISSED"
            out.append(f"{name:<30}{ours:>12,.0f}{theirs:>12,.0f}{ratio:>8.2f}x{target:>8.1f}x{mark}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="best of N (default 7)")
    parser.add_argument("--size", type=int, default=SIZE, help=f"corpus size (default {SIZE})")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    print(report(run(args.size, args.repeats), args.repeats, args.markdown))


if __name__ == "__main__":
    main()
