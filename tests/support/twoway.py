"""Helpers for the two-way tests: texting the gateway through the simulator, reading what it sent."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api, wait_for


def text_in(api: Api, number: str, text: str, modem: str = "sim1") -> None:
    """`number` texts `text` to `modem` through the simulated network."""
    response = api.post("/v1/simulator/inbound", json={"modem": modem, "from": number, "text": text})
    assert response.status_code == 202, response.text


def sent_to(api: Api, number: str) -> list[str]:
    """Texts the simulated network received for `number`, in order (joined messages)."""
    network = api.get("/v1/simulator/network").json()
    return [m["text"] for m in network["messages"] if m["recipient"] == number]


def wait_sent(api: Api, number: str, count: int, timeout: float = 10.0) -> list[str]:
    """Wait until the network has `count` texts for `number`; returns them."""
    return wait_for(
        lambda: (texts := sent_to(api, number)) and len(texts) >= count and texts,
        timeout,
        f"{count} texts to {number}",
        last=lambda: sent_to(api, number),
    )


def step_due(api: Api, **delta: float) -> None:
    """Move the gateway's wall clock on and run its due work now."""
    api.clock.advance(**delta)
    api.gateway.wake_campaigns()


def body(api: Api, method: str, url: str, status: int, **kwargs: Any) -> Any:
    response = getattr(api, method)(url, **kwargs)
    assert response.status_code == status, response.text
    return response.json() if response.content else None
