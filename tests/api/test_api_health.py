"""Probes and metrics: /healthz, /readyz and /metrics need no key."""

from __future__ import annotations

import re

from tests.support.api import Api, assert_error, wait_for


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else None


def test_healthz_answers(shared_api: Api) -> None:
    response = shared_api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_200_when_modems_are_ready(shared_api: Api) -> None:
    response = shared_api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready" and sorted(response.json()["modems_ready"]) == ["sim1", "sim2"]


def test_readyz_is_503_with_an_error_body_when_no_modem_can_send(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    api.patch("/v1/modems/sim2", json={"enabled": False})
    wait_for(lambda: {m["state"] for m in api.modems().values()} == {"disabled"}, 5, "both disabled")
    error = assert_error(api.client.get("/readyz"), 503, "not_ready")
    assert "no modem is ready" in error["message"] and error["modems_ready"] == []


def test_metrics_count_parts_per_modem_and_the_queue(api: Api) -> None:
    text = api.client.get("/metrics").text
    assert _sample(text, "modemgate_queue_depth", status="queued") == 0
    for modem in ("sim1", "sim2"):
        assert _sample(text, "modemgate_parts_sent_total", modem=modem) == 0

    api.wait_delivered(api.send("three parts " * 30)["id"])  # 360 characters: 3 parts
    api.wait_delivered(api.send("one part")["id"])
    response = api.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE modemgate_parts_sent_total counter" in text
    sent = [_sample(text, "modemgate_parts_sent_total", modem=m) for m in ("sim1", "sim2")]
    assert sum(s or 0 for s in sent) == 4
    assert _sample(text, "modemgate_queue_depth", status="queued") == 0
    assert _sample(text, "modemgate_modem_state", modem="sim1", state="ready") == 1
    wait_for(
        lambda: _sample(api.client.get("/metrics").text, "modemgate_modem_signal_rssi", modem="sim1") is not None,
        5,
        "sim1's signal in the metrics",
    )
    assert "modemgate_send_seconds_bucket" in text


def test_metrics_show_the_waiting_queue(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    api.patch("/v1/modems/sim2", json={"enabled": False})
    for i in range(3):
        api.send(f"waiting {i}")
    text = api.client.get("/metrics").text
    assert _sample(text, "modemgate_queue_depth", status="queued") == 3
