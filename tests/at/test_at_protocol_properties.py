"""Properties of the AT protocol: split-invariance and totality."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import AtProtocolError
from drivers.at import MAX_LINE, AtProtocol
from harness.at_transcripts import SUBMIT, TRANSCRIPTS, play, rx_steps

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({min(max(cut, 0), len(data)) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_transcript_split_at_every_byte_boundary_gives_same_events(name: str) -> None:
    script, _ = TRANSCRIPTS[name]
    expected, _ = play(script)
    for target, data in enumerate(rx_steps(script)):
        for cut in range(1, len(data)):

            def splitter(index: int, chunk: bytes, target: int = target, cut: int = cut) -> list[bytes]:
                return [chunk[:cut], chunk[cut:]] if index == target else [chunk]

            events, _ = play(script, splitter)
            assert events == expected, f"Rx #{target} cut at byte {cut}"


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_transcript_fed_byte_by_byte_gives_same_events(name: str) -> None:
    script, expected = TRANSCRIPTS[name]
    events, _ = play(script, lambda _i, data: [data[i : i + 1] for i in range(len(data))])
    assert events == expected


@FAST
@given(name=st.sampled_from(sorted(TRANSCRIPTS)), data=st.data())
def test_transcript_split_at_random_points_gives_same_events(name: str, data: st.DataObject) -> None:
    script, expected = TRANSCRIPTS[name]
    cuts = {
        index: data.draw(st.lists(st.integers(0, len(chunk)), max_size=12), label=f"cuts {index}")
        for index, chunk in enumerate(rx_steps(script))
    }
    events, _ = play(script, lambda index, chunk: split_at(chunk, cuts[index]))
    assert events == expected


# Bytes that matter to the parser, so random input reaches its corners.
_INTERESTING = st.sampled_from(
    [
        b"\r",
        b"\n",
        b"\r\n",
        b"\x1a",
        b"\x1b",
        b"> ",
        b">",
        b"OK",
        b"ERROR",
        b"+CMS ERROR: ",
        b"+CME ERROR: ",
        b"SIM PIN required",
        b"+CMT: ,23",
        b'+CMT: "a",b,c',
        b"+CDS: 25",
        b"+CBM: 1,2,3,4,5",
        b'+CUSD: 0,"',
        b'"',
        b"+CREG: 1",
        b'+CMTI: "SM",1',
        b"RING",
        b"AT+CMGS=23",
        SUBMIT.encode(),
        b"07911326",
        b"\x00",
        b"\xff",
        b"\xc3",
        b"\xe9",
        b"\x07",
        b"9" * (MAX_LINE - 3),
        b"\xb2",
    ]
)
_CHUNKS = st.lists(st.one_of(_INTERESTING, st.binary(max_size=40)), max_size=40)


_SENDS = st.lists(st.sampled_from(["AT+CSQ", "AT+CMGS=23", "AT+CREG?", "AT+CUSD?", "ATI"]), max_size=5)


@FAST
@given(chunks=_CHUNKS, sends=_SENDS)
def test_any_bytes_in_any_split_raise_nothing_but_protocol_errors(chunks: list[bytes], sends: list[str]) -> None:
    protocol = AtProtocol()
    commands = iter(sends)
    for chunk in chunks:
        try:
            protocol.feed(chunk)
            if protocol.pending is None:
                command = next(commands, None)
                if command is not None:
                    protocol.send(command)
            elif protocol.at_prompt:
                protocol.send_pdu(SUBMIT)
        except AtProtocolError:
            pass
    assert len(protocol._buffer) < MAX_LINE + 2


_COMMANDS = st.sampled_from(["AT+CMGL=4", "AT+CMGS=23", "AT+CREG?", 'AT+CUSD=1,"*100#",15', "AT+CMGF=0"])


@FAST
@given(chunks=_CHUNKS, command=_COMMANDS, data=st.data())
def test_any_bytes_give_same_events_however_split(chunks: list[bytes], command: str, data: st.DataObject) -> None:
    blob = b"".join(chunks)
    whole = AtProtocol()
    whole.send(command)
    expected = whole.feed(blob)
    cuts = data.draw(st.lists(st.integers(0, len(blob)), max_size=20))
    pieces = AtProtocol()
    pieces.send(command)
    events = []
    for piece in split_at(blob, cuts):
        events.extend(pieces.feed(piece))
    assert events == expected
    assert (pieces.pending, pieces.at_prompt) == (whole.pending, whole.at_prompt)
