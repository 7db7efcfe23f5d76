"""Fuzzing the PDU decoder and the AT parser: a million inputs, count what is not our own error.

    python -m bench.fuzz [--count N] [--seed S] [--markdown] [--replay FILE]

The test suite runs both targets under hypothesis with a few hundred examples each
(tests/sms/test_codec_properties.py, tests/at/test_at_protocol_properties.py); this script
is the long run. `--count` inputs (default 1,000,000) are split evenly between:

- **PDU decoder** `drivers.sms.decode_pdu`. Expected: a decoded message, which must then
  turn into the JSON the CLI prints (`to_dict` + `json.dumps`), or `PduError`. Mix:
    * 70 % mutated valid PDUs: SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT built by
      `encode_submit` / `encode_deliver` / `encode_status_report` from the seeded corpus of
      harness/corpus.py (with and without SMSC, concatenated, alphanumeric senders, validity,
      message classes), with 1–4 edits each: an octet set to a random or a boundary value,
      a bit flipped, a header-type octet toggled (first octet, DCS, UDH lengths), octets
      inserted, deleted or appended, a cut, or the head of one PDU spliced to the tail of
      another. Edits land in the first 24 octets half the time, where the lengths and
      flags that steer the decoder live, so inputs get past the header and into the
      addresses, time stamps, UDH and user data;
    * 5 % valid PDUs unchanged (with SMSC, or as a bare TPDU with `smsc=False`);
    * 20 % random hex of varied length (0–8, 9–60 or 61–400 digits; some odd, some with a
      stray non-hex character, upper or lower case);
    * 5 % random bytes (the decoder takes bytes too).
- **AT parser** `drivers.at.AtProtocol`, driven as the modem driver drives it: commands
  sent when the line is idle, a PDU after a prompt, the events consumed (`Final.as_error()`,
  `split_args` on every Info and URC). Expected: events, or `AtProtocolError` (the parser's
  only error, raised on misuse of its API, which 5 % of the steps do on purpose: a command
  while one is pending, a PDU without a prompt, a command that is not one ASCII line).
  Besides exceptions, a parser that keeps more than MAX_LINE + 1 bytes buffered is counted
  as unexpected too. Mix:
    * 50 % mutated real modem transcripts (harness/at_transcripts.py: Huawei, SIMCom,
      Quectel, Wavecom): each chunk the modem sends gets 0–3 edits (an octet changed,
      a line ending removed or changed, a token such as `> `, `+CMS ERROR: `, `+CMT: ,23`,
      a quote or NUL inserted, a stretch deleted or repeated, a cut) and is fed in random
      pieces; a third of them play two transcripts back to back;
    * 25 % token soup: the octets and words that steer the parser (CR, LF, Ctrl-Z, ESC,
      `> `, result codes, URC headers, PDUs, quotes, a line just under MAX_LINE) mixed
      with short random bytes, fed in random pieces;
    * 25 % random bytes, 0–600 long (1 % up to 3 × MAX_LINE, for the long-line path),
      fed in random pieces.

Every input is drawn from one `random.Random(seed)`, so a (count, seed) pair always
gives the same inputs. The JSON summary lists each unexpected exception (first few per
place) with the input that raised it; `--replay FILE` reruns the unexpected inputs of a
summary saved to FILE and shows their tracebacks. Exit status 1 when anything unexpected
happened.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from drivers import AtProtocolError, PduError
from drivers.at import MAX_LINE, AtProtocol, Final, Info, Urc, split_args
from drivers.sms import (
    decode_pdu,
    encode_deliver,
    encode_status_report,
    encode_submit,
    to_dict,
)
from harness.at_transcripts import TRANSCRIPTS, Abort, Rx, Send, SendPdu
from harness.corpus import mixed_corpus

_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_COUNT = 1_000_000
DEFAULT_SEED = 20261130
KEEP_PER_PLACE = 3  # unexpected inputs kept per (target, exception type, place)

PDU_MIX = (("mutated", 0.70), ("valid", 0.05), ("random_hex", 0.20), ("random_bytes", 0.05))
AT_MIX = (("transcript", 0.50), ("tokens", 0.25), ("random_bytes", 0.25))


@dataclass
class TargetResult:
    name: str
    inputs: int = 0
    accepted: int = 0  # decoded / fed without error
    events: int = 0  # AT events the parser produced
    expected_errors: int = 0
    unexpected: int = 0
    seconds: float = 0.0
    by_kind: Counter[str] = field(default_factory=Counter)
    depth: Counter[str] = field(default_factory=Counter)  # where PduError stopped the decoder
    decoded: Counter[str] = field(default_factory=Counter)  # message types that came out
    failures: list[dict[str, Any]] = field(default_factory=list)
    _places: Counter[tuple[str, str]] = field(default_factory=Counter)

    def record_unexpected(self, exc: BaseException, kind: str, case: dict[str, Any]) -> None:
        self.unexpected += 1
        place = _place(exc)
        key = (type(exc).__name__, place)
        self._places[key] += 1
        if self._places[key] <= KEEP_PER_PLACE:
            self.failures.append(
                {
                    "target": self.name,
                    "kind": kind,
                    "type": key[0],
                    "message": str(exc)[:300],
                    "where": place,
                    "input": case,
                }
            )

    def summary(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "accepted": self.accepted,
            "expected_errors": self.expected_errors,
            "unexpected": self.unexpected,
            "seconds": round(self.seconds, 1),
            "inputs_per_second": round(self.inputs / self.seconds) if self.seconds else None,
            "by_kind": dict(sorted(self.by_kind.items())),
            **({"events": self.events} if self.events else {}),
            **({"decoded_types": dict(sorted(self.decoded.items()))} if self.decoded else {}),
            **({"pdu_error_offsets": {label: self.depth[label] for label in _BAND_ORDER}} if self.depth else {}),
            "unexpected_places": {f"{t} at {p}": n for (t, p), n in self._places.most_common()},
            "failures": self.failures,
        }


# --- PDU decoder ----------------------------------------------------------------------------

_BOUNDARY = (0x00, 0x01, 0x02, 0x07, 0x08, 0x0F, 0x10, 0x7F, 0x80, 0x81, 0x91, 0xA0, 0xC8, 0xD0, 0xF0, 0xFE, 0xFF)
_WHEN = datetime(2026, 11, 30, 9, 15, 42, tzinfo=timezone(timedelta(hours=1)))


def pdu_seeds(rng: random.Random, messages: int = 400) -> list[tuple[bytes, bool]]:
    """(PDU, has SMSC prefix) pairs: valid SUBMIT, DELIVER and STATUS-REPORT PDUs."""
    seeds: list[tuple[bytes, bool]] = []
    for i, m in enumerate(mixed_corpus(messages)):
        smsc = rng.choice((None, "+31653131316", "+447785016005"))
        text = m.text[: rng.choice((40, 200, 500))]
        parts = encode_submit(
            m.number,
            text,
            smsc=smsc,
            ref=i & 0xFF,
            ref16=i % 5 == 0,
            validity=timedelta(hours=rng.choice((1, 24, 24 * 30))) if i % 3 == 0 else None,
            message_class=rng.choice((None, 0, 1, 2, 3)),
        )
        seeds += [(bytes.fromhex(p.pdu), True) for p in parts]
        originator = m.number if i % 4 else rng.choice(("Bank", "ING", "PostNL", "Verify 24"))
        when = _WHEN + timedelta(minutes=15 * rng.randrange(-48, 57), seconds=i)
        seeds += [
            (bytes.fromhex(p), True)
            for p in encode_deliver(originator, text, timestamp=when, smsc=smsc, ref=i & 0xFF, ref16=i % 7 == 0)
        ]
        seeds.append(
            (
                bytes.fromhex(
                    encode_status_report(
                        i & 0xFF,
                        m.number,
                        timestamp=when,
                        discharge_time=when + timedelta(seconds=7),
                        status=rng.choice((0x00, 0x01, 0x20, 0x30, 0x41, 0x46, 0x60, 0x65)),
                        smsc=smsc,
                    )
                ),
                True,
            )
        )
    # Bare TPDUs (no SMSC octets), as some callers hand them over.
    seeds += [(pdu[pdu[0] + 1 :], False) for pdu, _ in seeds[::7]]
    return seeds


def pdu_case(rng: random.Random, seeds: list[tuple[bytes, bool]], kind: str) -> dict[str, Any]:
    """One decoder input: {"pdu": hex or bytes-as-hex, "bytes": bool, "smsc": bool}."""
    r = rng.random
    if kind == "random_hex":
        band = r()
        n = rng.randrange(0, 9) if band < 0.3 else rng.randrange(9, 61) if band < 0.7 else rng.randrange(61, 401)
        digits = "".join(rng.choices("0123456789ABCDEF", k=n))
        if r() < 0.05 and digits:
            at = rng.randrange(len(digits))
            digits = digits[:at] + rng.choice(" gG-xZ\x00é:") + digits[at + 1 :]
        if r() < 0.3:
            digits = digits.lower()
        return {"pdu": digits, "bytes": False, "smsc": r() < 0.8}
    if kind == "random_bytes":
        return {"pdu": rng.randbytes(rng.randrange(0, 200)).hex(), "bytes": True, "smsc": r() < 0.8}
    data, smsc = rng.choice(seeds)
    if kind == "mutated":
        data = mutate_pdu(rng, bytearray(data), seeds)
    text = data.hex()
    return {"pdu": text.upper() if r() < 0.7 else text, "bytes": r() < 0.2, "smsc": smsc}


def mutate_pdu(rng: random.Random, data: bytearray, seeds: list[tuple[bytes, bool]]) -> bytes:
    for _ in range(rng.randrange(1, 5)):
        size = len(data)
        # Half of the edits hit the header octets: lengths and flags that steer the decoder.
        pos = rng.randrange(min(size, 24)) if size and rng.random() < 0.5 else rng.randrange(size) if size else 0
        op = rng.randrange(10)
        if op == 0 and size:
            data[pos] = rng.randrange(256)
        elif op == 1 and size:
            data[pos] = rng.choice(_BOUNDARY)
        elif op == 2 and size:
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 3 and size:  # a flags octet: first octet after the SMSC, or the DCS
            first = min(data[0] + 1, size - 1)
            target = first if rng.random() < 0.5 else rng.randrange(first, min(first + 16, size))
            data[target] ^= rng.choice((0x03, 0x04, 0x18, 0x20, 0x40, 0x08, 0x0C, 0x10, 0xC0, 0xF0))
        elif op == 4:
            data[pos:pos] = rng.randbytes(rng.randrange(1, 8))
        elif op == 5 and size:
            del data[pos : pos + rng.randrange(1, 8)]
        elif op == 6:
            data += rng.randbytes(rng.randrange(1, 40))
        elif op == 7 and size:
            del data[rng.randrange(size) :]
        elif op == 8:
            other, _ = rng.choice(seeds)
            data = bytearray(data[: rng.randrange(size + 1)] + other[rng.randrange(len(other) + 1) :])
        elif size:  # a length octet set just over or under what follows
            data[pos] = max(0, min(255, size - pos + rng.randrange(-3, 4)))
    return bytes(data)


def decode_case(case: dict[str, Any]) -> object:
    pdu = bytes.fromhex(case["pdu"]) if case["bytes"] else case["pdu"]
    sms = decode_pdu(pdu, smsc=case["smsc"])
    json.dumps(to_dict(sms), ensure_ascii=False)  # what `modemgate pdu decode` prints
    return sms


def fuzz_pdu(count: int, rng: random.Random) -> TargetResult:
    result = TargetResult("pdu_decoder")
    seeds = pdu_seeds(rng)
    kinds = _draws(rng, PDU_MIX, count)
    start = time.perf_counter()
    for kind in kinds:
        case = pdu_case(rng, seeds, kind)
        result.inputs += 1
        result.by_kind[kind] += 1
        try:
            sms = decode_case(case)
        except PduError as exc:
            result.expected_errors += 1
            result.depth[_offset_band(exc.offset)] += 1
        except Exception as exc:  # what we are looking for: anything but PduError
            result.record_unexpected(exc, kind, case)
        else:
            result.accepted += 1
            result.decoded[type(sms).__name__] += 1
    result.seconds = time.perf_counter() - start
    return result


_BANDS = ((0, "0"), (1, "1"), (11, "2-11"), (23, "12-23"), (47, "24-47"))


def _offset_band(offset: int | None) -> str:
    """Octet offset where a PduError stopped the decoder, in bands (0 = the SMSC length)."""
    if offset is None:
        return "none"
    return next((label for top, label in _BANDS if offset <= top), "48+")


_BAND_ORDER = ("none", *(label for _, label in _BANDS), "48+")


# --- AT parser ------------------------------------------------------------------------------

_TOKENS = [
    b"\r",
    b"\n",
    b"\r\n",
    b"\x1a",
    b"\x1b",
    b"> ",
    b">",
    b'"',
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xe9",
    b"\x07",
    b"OK",
    b"ERROR",
    b"+CMS ERROR: ",
    b"+CMS ERROR: 500",
    b"+CME ERROR: SIM PIN required",
    b"+CME ERROR:",
    b"NO CARRIER",
    b"CONNECT 115200",
    b"COMMAND NOT SUPPORT",
    b"+CMT: ,23",
    b'+CMT: "a",b,c',
    b"+CMT: 0",
    b"+CDS: 25",
    b"+CBM: 1,2,3,4,5",
    b'+CUSD: 0,"',
    b'+CUSD: 1,"Balance',
    b'+CMTI: "SM",1',
    b"+CREG: 1",
    b"+CREG: 0,1",
    b"RING",
    b"^RSSI:17",
    b"+CMGS: 12",
    b"+CMGL: 1,0,,23",
    b"AT+CMGS=23",
    b"AT+CSQ",
    b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
    b"07911326",
    b"9" * (MAX_LINE - 3),
]
_COMMANDS = ["AT+CSQ", "AT+CMGS=23", "AT+CREG?", 'AT+CUSD=1,"*100#",15', "ATI", "AT+CMGL=4", "AT+CMGF=0", "ATE0"]
_BAD_COMMANDS = ["", "AT+CSQ\r", "AT\nI", "ATé", "AT\x00", "   "]
_PDU = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
_TRANSCRIPT_NAMES = sorted(TRANSCRIPTS)

Op = list  # ["send", command] | ["pdu", hex] | ["abort"] | ["feed", hex] | ["misuse", what, arg]


def at_case(rng: random.Random, kind: str) -> list[Op]:
    """One parser input: a list of operations on a fresh AtProtocol."""
    if kind == "transcript":
        ops: list[Op] = []
        for _ in range(2 if rng.random() < 0.33 else 1):
            ops += _transcript_ops(rng, TRANSCRIPTS[rng.choice(_TRANSCRIPT_NAMES)][0])
        return ops
    if kind == "tokens":
        blob = b"".join(
            rng.choice(_TOKENS) if rng.random() < 0.6 else rng.randbytes(rng.randrange(1, 20))
            for _ in range(rng.randrange(1, 40))
        )
    else:
        size = rng.randrange(MAX_LINE, 3 * MAX_LINE) if rng.random() < 0.01 else rng.randrange(0, 600)
        blob = rng.randbytes(size)
    ops = []
    for piece in _pieces(rng, blob):
        if rng.random() < 0.3:
            ops.append(["send", rng.choice(_COMMANDS)])
        ops.append(["feed", piece.hex()])
        if rng.random() < 0.2:
            ops.append(["pdu", _PDU])
    return _with_misuse(rng, ops)


def _transcript_ops(rng: random.Random, script: list[Any]) -> list[Op]:
    ops: list[Op] = []
    for step in script:
        if isinstance(step, Send):
            ops.append(["send", step.command])
        elif isinstance(step, SendPdu):
            ops.append(["pdu", step.pdu])
        elif isinstance(step, Abort):
            ops.append(["abort"])
        elif isinstance(step, Rx):
            data = bytearray(step.data)
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                data = _mutate_rx(rng, data)
            ops += [["feed", piece.hex()] for piece in _pieces(rng, bytes(data))]
    return _with_misuse(rng, ops)


def _mutate_rx(rng: random.Random, data: bytearray) -> bytearray:
    size = len(data)
    pos = rng.randrange(size + 1)
    op = rng.randrange(7)
    if op == 0 and size:
        data[min(pos, size - 1)] = rng.randrange(256)
    elif op == 1:  # a line ending removed, doubled or swapped
        ends = [i for i, b in enumerate(data) if b in (0x0D, 0x0A)]
        if ends:
            at = rng.choice(ends)
            data[at : at + 1] = rng.choice((b"", b"\r", b"\n", b"\r\n\r\n", b"\x1a", b"\x1b"))
    elif op == 2:
        data[pos:pos] = rng.choice(_TOKENS)
    elif op == 3:
        del data[pos : pos + rng.randrange(1, 12)]
    elif op == 4:
        length = rng.randrange(1, 40)
        data[pos:pos] = data[pos : pos + length] * rng.randrange(1, 4)
    elif op == 5:
        del data[pos:]
    else:
        data[pos:pos] = rng.randbytes(rng.randrange(1, 6))
    return data


def _pieces(rng: random.Random, blob: bytes) -> list[bytes]:
    """`blob` cut at 0–6 random points (as reads off a serial port would cut it)."""
    if not blob:
        return [b""]
    cuts = sorted(rng.randrange(len(blob) + 1) for _ in range(rng.randrange(0, 7)))
    edges = [0, *cuts, len(blob)]
    return [blob[a:b] for a, b in itertools.pairwise(edges) if b > a] or [blob]


def _with_misuse(rng: random.Random, ops: list[Op]) -> list[Op]:
    """Now and then an API call the parser must refuse with AtProtocolError."""
    if rng.random() < 0.05:
        what = rng.choice(("send", "pdu", "abort", "bad_command", "bad_pdu", "feed_str"))
        arg = rng.choice(_BAD_COMMANDS) if what == "bad_command" else "12G4" if what == "bad_pdu" else "OK\r\n"
        ops.insert(rng.randrange(len(ops) + 1), ["misuse", what, arg])
    return ops


def run_at_case(ops: list[Op]) -> int:
    """Play `ops` on a fresh parser as the driver would; returns the events seen.

    Raises AtProtocolError only from the deliberate misuse steps; anything else is a bug.
    """
    protocol = AtProtocol()
    seen = 0
    for op in ops:
        name = op[0]
        if name == "feed":
            events = protocol.feed(bytes.fromhex(op[1]))
            seen += len(events)
            for event in events:
                _consume(event)
            if len(protocol._buffer) > MAX_LINE + 1:
                raise BufferBoundExceeded(f"{len(protocol._buffer)} bytes buffered")
        elif name == "send":
            if protocol.pending is not None:
                protocol.abandon()  # what the driver does after its timeout
            protocol.send(op[1])
        elif name == "pdu":
            if protocol.at_prompt:
                protocol.send_pdu(op[1])
        elif name == "abort":
            if protocol.pending is not None and protocol.at_prompt:
                protocol.abort_prompt()
        else:
            _misuse(protocol, op[1], op[2])
    return seen


class BufferBoundExceeded(Exception):
    """The parser kept more than MAX_LINE + 1 bytes: its memory bound is broken."""


def _consume(event: object) -> None:
    if isinstance(event, Final):
        event.as_error()
    elif isinstance(event, Urc):
        split_args(event.args)
    elif isinstance(event, Info):
        split_args(event.line.partition(":")[2])


def _misuse(protocol: AtProtocol, what: str, arg: str) -> None:
    if what == "send":
        if protocol.pending is None:
            protocol.send("AT")
        protocol.send("AT+CSQ")  # a second command while one is pending
    elif what == "pdu":
        if protocol.at_prompt:
            protocol.send_pdu(_PDU)
        protocol.send_pdu(_PDU)  # without a prompt
    elif what == "abort":
        protocol.abandon()
        protocol.abort_prompt()
    elif what == "bad_command":
        protocol.abandon()
        protocol.send(arg)
    elif what == "bad_pdu":
        protocol.send_pdu(arg)
    else:
        protocol.feed(arg)  # type: ignore[arg-type]  # str instead of bytes


def fuzz_at(count: int, rng: random.Random) -> TargetResult:
    result = TargetResult("at_parser")
    kinds = _draws(rng, AT_MIX, count)
    start = time.perf_counter()
    for kind in kinds:
        ops = at_case(rng, kind)
        result.inputs += 1
        result.by_kind[kind] += 1
        try:
            events = run_at_case(ops)
        except AtProtocolError:
            result.expected_errors += 1
        except Exception as exc:  # what we are looking for: anything but AtProtocolError
            result.record_unexpected(exc, kind, {"ops": ops})
        else:
            result.accepted += 1
            result.events += events
    result.seconds = time.perf_counter() - start
    return result


# --- running and reporting ------------------------------------------------------------------


def _draws(rng: random.Random, mix: tuple[tuple[str, float], ...], count: int) -> list[str]:
    names = [name for name, _ in mix]
    return rng.choices(names, weights=[share for _, share in mix], k=count)


def _place(exc: BaseException) -> str:
    """The innermost frame of the project's code that the exception went through."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/drivers/" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"{Path(frame.filename).relative_to(_ROOT) if frame.filename.startswith(str(_ROOT)) else frame.filename}:{frame.lineno} {frame.name}"


def run(count: int, seed: int) -> dict[str, Any]:
    pdu_count = count // 2
    started = time.perf_counter()
    pdu = fuzz_pdu(pdu_count, random.Random(f"{seed}:pdu"))
    at = fuzz_at(count - pdu_count, random.Random(f"{seed}:at"))
    return {
        "count": count,
        "seed": seed,
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
        "unexpected": pdu.unexpected + at.unexpected,
        "targets": {"pdu_decoder": pdu.summary(), "at_parser": at.summary()},
    }


def markdown(summary: dict[str, Any]) -> str:
    rows = [
        "| target | inputs | accepted | expected errors | unexpected | time | inputs/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = {
        "pdu_decoder": "PDU decoder `decode_pdu` (expected: `PduError`)",
        "at_parser": "AT parser `AtProtocol` (expected: `AtProtocolError`)",
    }
    for name, t in summary["targets"].items():
        rows.append(
            f"| {labels[name]} | {t['inputs']:,} | {t['accepted']:,} | {t['expected_errors']:,} | "
            f"**{t['unexpected']}** | {t['seconds']:.0f} s | {t['inputs_per_second']:,} |"
        )
    return "\n".join(rows)


def replay(path: Path) -> int:
    """Rerun the unexpected inputs of a saved summary and print their tracebacks."""
    summary = json.loads(path.read_text())
    failures = [f for t in summary["targets"].values() for f in t["failures"]]
    for failure in failures:
        runner: Callable[[], object]
        if failure["target"] == "pdu_decoder":
            runner = lambda case=failure["input"]: decode_case(case)  # noqa: E731
        else:
            runner = lambda ops=failure["input"]["ops"]: run_at_case(ops)  # noqa: E731
        try:
            runner()
        except (PduError, AtProtocolError) as exc:
            print(f"{failure['target']}: now only the expected {type(exc).__name__}: {exc}")
        except Exception:
            print(f"{failure['target']} ({failure['kind']}): {json.dumps(failure['input'])[:400]}")
            traceback.print_exc()
        else:
            print(f"{failure['target']}: no error any more")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help=f"inputs in all (default {DEFAULT_COUNT:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"(default {DEFAULT_SEED})")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown after the JSON")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="rerun the failures of a saved JSON summary")
    args = parser.parse_args()
    if args.replay:
        return replay(args.replay)
    summary = run(args.count, args.seed)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.markdown:
        print()
        print(markdown(summary))
    return 1 if summary["unexpected"] else 0


if __name__ == "__main__":
    sys.exit(main())
