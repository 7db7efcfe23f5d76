"""The simulator's HTTP control API, served from another thread than the simulator's loop
(as a test client does it), so every handler has to hand its work over to that loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import serial
from fastapi.testclient import TestClient

from drivers.simulator.control import create_control_app
from drivers.simulator.server import SimulatorThread
from drivers.sms import SmsDeliver, decode_pdu, encode_deliver, encode_submit
from tests.support.simulator import NOW, read_until


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(2, pty=False, tcp=("127.0.0.1", 0)) as thread:
        yield thread


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[TestClient]:
    with TestClient(create_control_app(sim.sim)) as c:  # type: ignore[arg-type]
        yield c
    for modem_id in sim.endpoints:
        sim.clear_faults(modem_id)


def stored_texts(sim: SimulatorThread, modem_id: str) -> list[str]:
    def read() -> list[str]:
        store = sim.sim.modems[modem_id].stores["SM"]  # type: ignore[union-attr]
        out = []
        for stored in store.list(4):
            sms = decode_pdu(stored.pdu)
            out.append(sms.text if isinstance(sms, SmsDeliver) else "")
        return out

    return sim.call(read)


def test_modems_lists_ids_numbers_endpoints_faults_and_storage(client: TestClient, sim: SimulatorThread) -> None:
    body = client.get("/modems").json()
    assert [m["id"] for m in body] == ["sim1", "sim2"]
    assert body[0]["number"] == "+31612000001"
    assert body[0]["tcp"] == sim.endpoints["sim1"].tcp_url
    assert body[0]["faults"]["hang"] is False
    assert set(body[0]["storage"]) == {"SM", "ME"}


def test_inbound_is_stored_on_the_modem_and_split_like_an_smsc_would(client: TestClient, sim: SimulatorThread) -> None:
    before = len(stored_texts(sim, "sim2"))
    r = client.post("/inbound", json={"modem": "sim2", "sender": "+31699999999", "text": "Hello {you}"})
    assert r.status_code == 200 and r.json() == {"parts": 1}
    long = "Привет! " * 20
    r = client.post("/inbound", json={"modem": "sim2", "sender": "Bank", "text": long})
    assert r.json() == {"parts": 3}
    texts = stored_texts(sim, "sim2")[before:]
    assert texts[0] == "Hello {you}" and "".join(texts[1:]) == long


def test_inbound_pdu_is_handed_over_as_is(client: TestClient, sim: SimulatorThread) -> None:
    pdu = encode_deliver("+31698765432", "ready made", timestamp=NOW)[0]
    r = client.post("/inbound/pdu", json={"modem": "sim1", "pdu": pdu})
    assert r.status_code == 200
    assert "ready made" in stored_texts(sim, "sim1")


def test_inbound_reaches_a_connected_client_as_a_urc(client: TestClient, sim: SimulatorThread) -> None:
    port = serial.serial_for_url(sim.endpoints["sim1"].tcp_url or "", timeout=2)
    try:
        port.write(b"ATE0;+CNMI=2,1,0,0,0\r")
        read_until(port, b"OK\r\n")
        client.post("/inbound", json={"modem": "sim1", "sender": "+31699999999", "text": "ping"})
        assert read_until(port, b'+CMTI: "SM",', timeout=2) == b'\r\n+CMTI: "SM",'
    finally:
        port.close()


def test_faults_are_set_read_back_and_cleared(client: TestClient, sim: SimulatorThread) -> None:
    r = client.post("/faults", json={"modem": "sim1", "cms_error": 500, "slow": 0.5, "garbage": "~"})
    assert r.status_code == 200
    assert (r.json()["cms_error"], r.json()["slow"], r.json()["garbage"]) == (500, 0.5, "~")
    modem = sim.sim.modems["sim1"]  # type: ignore[union-attr]
    assert sim.call(lambda: (modem.faults.cms_error, modem.faults.garbage)) == (500, b"~")
    r = client.delete("/faults/sim1")
    assert r.status_code == 200 and r.json()["cms_error"] is None and r.json()["slow"] == 0.0


def test_faults_take_effect_on_the_line(client: TestClient, sim: SimulatorThread) -> None:
    port = serial.serial_for_url(sim.endpoints["sim2"].tcp_url or "", timeout=2)
    try:
        client.post("/faults", json={"modem": "sim2", "garbage": "#!"})
        port.write(b"AT\r")
        assert read_until(port, b"OK\r\n").endswith(b"#!\r\nOK\r\n")
    finally:
        port.close()


@pytest.mark.parametrize(
    "body", [{"modem": "sim1", "explode": True}, {"modem": "sim1", "slow": "very"}, {"modem": "sim1", "report": "x"}]
)
def test_unknown_or_malformed_faults_are_422(client: TestClient, body: dict) -> None:
    r = client.post("/faults", json=body)
    assert r.status_code == 422
    assert client.get("/modems").json()[0]["faults"]["slow"] == 0.0


def test_network_shows_parts_messages_and_reports(client: TestClient, sim: SimulatorThread) -> None:
    port = serial.serial_for_url(sim.endpoints["sim2"].tcp_url or "", timeout=2)
    try:
        for part in encode_submit("+31611111111", "x" * 200, ref=9):
            port.write(f"AT+CMGS={part.tpdu_length}\r".encode())
            read_until(port, b"> ")
            port.write(part.pdu.encode() + b"\x1a")
            read_until(port, b"OK\r\n")
    finally:
        port.close()
    body = client.get("/network").json()
    parts = [p for p in body["received"] if p["modem"] == "sim2" and p["concat"] and p["concat"]["ref"] == 9]
    assert [p["concat"]["seq"] for p in parts] == [1, 2]
    assert {"modem": "sim2", "recipient": "+31611111111", "text": "x" * 200, "parts": 2} in body["messages"]
    assert {r["mr"] for r in body["reports"] if r["modem"] == "sim2"} >= {p["message_reference"] for p in parts}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/inbound", {"modem": "sim9", "sender": "+31699999999", "text": "x"}),
        ("post", "/inbound/pdu", {"modem": "sim9", "pdu": "00"}),
        ("post", "/faults", {"modem": "sim9", "hang": True}),
        ("delete", "/faults/sim9", None),
    ],
)
def test_unknown_modem_is_404(client: TestClient, method: str, path: str, body: dict | None) -> None:
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == 404
    assert "sim9" in r.json()["detail"]


def test_handlers_run_in_the_simulators_thread(client: TestClient, sim: SimulatorThread) -> None:
    seen: list[str] = []
    modem = sim.sim.modems["sim1"]  # type: ignore[union-attr]
    original = modem.set_faults

    def spy(values: dict) -> None:
        seen.append(threading.current_thread().name)
        original(values)

    modem.set_faults = spy  # type: ignore[method-assign]
    try:
        client.post("/faults", json={"modem": "sim1", "slow": 0.1})
    finally:
        del modem.set_faults
    assert seen == ["modem-simulator"]
