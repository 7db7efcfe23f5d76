"""Sending through our driver: single and concatenated messages, GSM-7 with extension
characters and UCS-2, message references, AT+CMMS around the parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from drivers.at.modem import Modem
from drivers.simulator.server import SimulatorThread, default_profile
from drivers.sms import encode_submit
from tests.support.driver import RECIPIENT, both_transports, commands_seen, url_of

pytestmark = pytest.mark.timeout(30)

GSM7_EXTENDED = "Price: 10€ [net] {gross} ~^|\\ ok"
UCS2_EMOJI = "Cheers 🎉 from Zürich 😀"


async def send_text(modem: Modem, text: str, *, ref: int | None = None) -> list[int]:
    parts = encode_submit(RECIPIENT, text, ref=ref)
    if len(parts) == 1:
        return [await modem.send(parts[0])]
    async with modem.multipart():
        return [await modem.send(part) for part in parts]


@pytest.mark.parametrize("text", [GSM7_EXTENDED, UCS2_EMOJI], ids=["gsm7-extension", "ucs2-emoji"])
async def test_single_part_reaches_the_network_exactly(modem: Modem, sim: SimulatorThread, text: str) -> None:
    assert await send_text(modem, text) == [0]
    assert sim.messages() == [{"modem": "sim1", "recipient": RECIPIENT, "text": text, "parts": 1}]
    (received,) = sim.received()
    assert received["encoding"] == ("gsm7" if text == GSM7_EXTENDED else "ucs2")
    assert received["message_reference"] == 0


@both_transports
@pytest.mark.parametrize(
    ("text", "parts"),
    [(GSM7_EXTENDED * 8, 3), (UCS2_EMOJI * 10, 4)],
    ids=["gsm7-extension", "ucs2-emoji"],
)
async def test_multipart_reaches_the_network_exactly_with_cmms_around_it(
    modem: Modem, sim: SimulatorThread, text: str, parts: int
) -> None:
    assert len(encode_submit(RECIPIENT, text)) == parts
    before = len(commands_seen(sim))
    mrs = await send_text(modem, text, ref=77)
    assert mrs == list(range(parts))
    assert sim.messages() == [{"modem": "sim1", "recipient": RECIPIENT, "text": text, "parts": parts}]
    assert [r["concat"] for r in sim.received()] == [{"ref": 77, "total": parts, "seq": i} for i in range(1, parts + 1)]
    sent = [c for c in commands_seen(sim)[before:] if c.startswith(("AT+CMMS", "AT+CMGS"))]
    assert sent[0] == "AT+CMMS=2"
    assert sent[-1] == "AT+CMMS=0"
    assert [c.startswith("AT+CMGS=") for c in sent[1:-1]] == [True] * parts


async def test_message_references_increase_and_wrap_from_255_to_0(
    make_sim: Callable, make_modem: Callable, transport: str
) -> None:
    sim = make_sim(profiles=[dataclasses.replace(default_profile(1), mr_start=253)])
    modem = await make_modem(url_of(sim, transport))
    await modem.initialize()
    mrs = [*await send_text(modem, "one"), *await send_text(modem, "two " * 50), *await send_text(modem, "three")]
    mrs += await send_text(modem, "four")
    assert mrs == [253, 254, 255, 0, 1]
    assert [r["message_reference"] for r in sim.received()] == mrs
    assert [m["text"] for m in sim.messages()] == ["one", "two " * 50, "three", "four"]


async def test_multipart_without_cmms_support_still_sends_every_part(
    make_sim: Callable, make_modem: Callable, transport: str
) -> None:
    sim = make_sim(profiles=[dataclasses.replace(default_profile(1), refuse={"+CMMS"})])
    modem = await make_modem(url_of(sim, transport))
    await modem.initialize()
    text = "x" * 200
    assert await send_text(modem, text) == [0, 1]
    assert await send_text(modem, text) == [2, 3]
    assert [m["text"] for m in sim.messages()] == [text, text]
    assert commands_seen(sim).count("AT+CMMS=2") == 1  # not asked again once refused
