"""Faults a simulated modem shows on command, as real modems fail in the field.

The protocol-level faults run sans-IO on a fake clock; delays are also checked once with
real time, and drop-outs through the real transports (pty and TCP) with pyserial.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
import serial

from drivers._exceptions import ConfigError
from drivers.simulator.network import Network
from drivers.simulator.server import SimulatorThread
from drivers.sms import SmsStatusReport, decode_pdu, encode_submit
from tests.support.simulator import Line, read_until

OK = b"\r\nOK\r\n"


def send(line: Line, text: str = "hi", *, report: bool = False) -> bytes:
    part = encode_submit("+31611111111", text, status_report=report)[0]
    assert line.at(f"AT+CMGS={part.tpdu_length}") == b"\r\n> "
    return line.send(part.pdu + "\x1a")


def sent(mr: int) -> bytes:
    return f"\r\n+CMGS: {mr}\r\n".encode() + OK


# --- error answers ---------------------------------------------------------------------------


def test_cms_error_on_the_nth_send_for_count_sends(line: Line, network: Network) -> None:
    line.at("AT+CMEE=1")
    line.modem.set_faults({"cms_error": 42, "cms_error_on_send": 2, "cms_error_count": 2})
    answers = [send(line, f"m{i}") for i in range(1, 5)]
    assert answers == [sent(0), b"\r\n+CMS ERROR: 42\r\n", b"\r\n+CMS ERROR: 42\r\n", sent(1)]
    assert [r.text for r in network.received] == ["m1", "m4"]


def test_cms_error_count_0_fails_every_send_from_then_on(line: Line) -> None:
    line.at("AT+CMEE=1")
    line.modem.set_faults({"cms_error": 500, "cms_error_count": 0})
    assert {send(line) for _ in range(5)} == {b"\r\n+CMS ERROR: 500\r\n"}
    line.modem.clear_faults()
    assert send(line) == sent(0)


def test_cme_error_on_the_next_send(line: Line) -> None:
    line.at("AT+CMEE=1")
    line.modem.set_faults({"cme_error": 14})
    assert send(line) == b"\r\n+CME ERROR: 14\r\n"
    assert send(line) == sent(0)


def test_injected_errors_follow_cmee(line: Line) -> None:
    line.modem.set_faults({"cms_error": 38})
    assert send(line) == b"\r\nERROR\r\n"


# --- timing ----------------------------------------------------------------------------------


def test_hang_answers_nothing_at_all_until_cleared(line: Line) -> None:
    line.modem.set_faults({"hang": True})
    assert line.at("AT") == b""
    assert line.advance(120) == b""
    line.modem.clear_faults()
    assert line.at("AT") == OK


def test_slow_delays_every_answer(line: Line) -> None:
    line.modem.set_faults({"slow": 2.5})
    assert line.at("AT+CGMI") == b""
    assert line.advance(2.4) == b""
    assert line.advance(0.1) == b"\r\nhuawei\r\n" + OK


def test_commands_typed_during_a_slow_answer_run_after_it(line: Line) -> None:
    line.modem.set_faults({"slow": 1.0})
    assert line.send("AT+CGMI\rAT+CGMM\r") == b""
    assert line.advance(1.0) == b"\r\nhuawei\r\n" + OK
    assert line.advance(1.0) == b"\r\nE173\r\n" + OK


def test_submit_delay_holds_the_cmgs_answer(line: Line, network: Network) -> None:
    line.modem.set_faults({"submit_delay": 4.0})
    assert send(line) == b""
    assert line.advance(3.9) == b""
    assert line.advance(0.1) == sent(0)


def test_garbage_comes_before_every_answer(line: Line) -> None:
    line.modem.set_faults({"garbage": "\x00\xff~"})
    assert line.at("AT") == b"\x00\xff~" + OK
    assert line.at("AT+CSQ") == b"\x00\xff~\r\n+CSQ: 20,99\r\n" + OK


# --- delivery reports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "tp_st", "category"),
    [("delivered", 0x00, "delivered"), ("temporary", 0x30, "pending"), ("permanent", 0x41, "failed")],
)
def test_report_outcome_sets_the_status_reports_tp_st(line: Line, outcome: str, tp_st: int, category: str) -> None:
    line.at("AT+CNMI=2,1,0,1,0")
    line.modem.set_faults({"report": outcome, "report_delay": 5.0})
    assert send(line, report=True) == sent(0)
    assert line.advance(4.9) == b""
    urc = line.advance(0.1).split(b"\r\n")
    assert urc[1].startswith(b"+CDS: ")
    report = decode_pdu(urc[2].decode())
    assert isinstance(report, SmsStatusReport)
    assert (report.message_reference, report.status, report.category) == (0, tp_st, category)


def test_report_none_sends_no_report(line: Line, network: Network) -> None:
    line.at("AT+CNMI=2,1,0,1,0")
    line.modem.set_faults({"report": "none"})
    assert send(line, report=True) == sent(0)
    assert line.advance(3600) == b""
    assert network.reports_sent == []


# --- SIM -------------------------------------------------------------------------------------


def test_pin_required_locks_the_sim_until_the_pin_is_entered(line: Line) -> None:
    line.at("AT+CMEE=1")
    line.modem.set_faults({"pin_required": True})
    assert line.at("AT+CPIN?") == b"\r\n+CPIN: SIM PIN\r\n" + OK
    assert line.modem.faults.as_dict()["pin_required"] is True
    assert line.at("AT+CIMI") == b"\r\n+CME ERROR: 11\r\n"
    assert line.at("AT+CMGS=20") == b"\r\n+CMS ERROR: 311\r\n"
    assert line.at('AT+CPIN="1234"') == OK  # the default PIN of a SIM without one
    assert line.at("AT+CPIN?") == b"\r\n+CPIN: READY\r\n" + OK
    assert line.modem.faults.as_dict()["pin_required"] is False
    assert send(line) == sent(0)


def test_pin_required_asks_for_the_profiles_pin(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="4321")
    line.at('AT+CPIN="4321"')
    line.modem.set_faults({"pin_required": True})
    assert line.at('AT+CPIN="1234"') == b"\r\nERROR\r\n"
    assert line.at('AT+CPIN="4321"') == OK


def test_clearing_faults_unlocks_a_sim_the_fault_locked(line: Line) -> None:
    line.modem.set_faults({"pin_required": True})
    line.modem.clear_faults()
    assert line.at("AT+CPIN?") == b"\r\n+CPIN: READY\r\n" + OK


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [{"explode": True}, {"slow": "fast"}, {"hang": 1}, {"report": "maybe"}, {"cms_error": "500"}],
)
def test_bad_fault_settings_are_refused_and_change_nothing(line: Line, values: dict) -> None:
    with pytest.raises(ConfigError):
        line.modem.set_faults({"garbage": "x", **values})
    assert line.modem.faults.garbage == b""


# --- through the real transports -------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(2, pty=True, tcp=("127.0.0.1", 0)) as thread:
        yield thread


def open_port(url: str) -> serial.Serial:
    return serial.serial_for_url(url, timeout=2)


def test_slow_answers_arrive_after_a_real_delay(sim: SimulatorThread) -> None:
    port = open_port(sim.endpoints["sim1"].tcp_url or "")
    try:
        sim.set_faults("sim1", slow=0.3)
        started = time.monotonic()
        port.write(b"AT\r")
        assert read_until(port, b"OK\r\n") == b"AT\r\r\nOK\r\n"
        assert 0.3 <= time.monotonic() - started < 2
    finally:
        port.close()


def test_hang_over_a_pty_gives_no_bytes(sim: SimulatorThread) -> None:
    port = serial.serial_for_url(sim.endpoints["sim1"].pty or "", timeout=0.3)
    try:
        sim.set_faults("sim1", hang=True)
        port.write(b"AT\r")
        assert port.read(100) == b""
        sim.clear_faults("sim1")
        port.write(b"AT\r")
        assert read_until(port, b"OK\r\n") == b"AT\r\r\nOK\r\n"
    finally:
        port.close()


def test_pty_disconnect_keeps_the_link_name_but_changes_the_device(sim: SimulatorThread) -> None:
    link = sim.endpoints["sim1"].pty or ""
    before = os.path.realpath(link)
    old = open_port(link)
    try:
        old.write(b"ATE0\r")
        assert read_until(old, b"OK\r\n").endswith(b"\r\nOK\r\n")
        sim.set_faults("sim1", disconnect=True)
        with pytest.raises(serial.SerialException):
            old.read(10)
        with pytest.raises(serial.SerialException):
            old.write(b"AT\r")
        assert not os.path.lexists(link)  # gone from the bus
        with pytest.raises(serial.SerialException):
            open_port(link)
        sim.clear_faults("sim1")
        after = os.path.realpath(link)
        assert after != before and after.startswith("/dev/pts/")
        assert sim.call(lambda: sim.sim.pty_device("sim1")) == after  # type: ignore[union-attr]
        new = open_port(link)
        try:
            new.write(b"AT\r")
            assert read_until(new, b"OK\r\n") == b"AT\r\r\nOK\r\n"  # power-up state: echo on
        finally:
            new.close()
        with pytest.raises(serial.SerialException):
            old.read(10)  # the old device stays dead
    finally:
        old.close()


def test_tcp_disconnect_closes_refuses_and_accepts_again_after_clear(sim: SimulatorThread) -> None:
    url = sim.endpoints["sim2"].tcp_url or ""
    port = open_port(url)
    try:
        port.write(b"AT\r")
        assert read_until(port, b"OK\r\n") == b"AT\r\r\nOK\r\n"
        sim.set_faults("sim2", disconnect=True)
        with pytest.raises(serial.SerialException):
            port.read(10)
    finally:
        port.close()
    with pytest.raises(serial.SerialException, match="refused"):
        open_port(url)
    sim.clear_faults("sim2")
    again = open_port(url)  # listening again as soon as the fault is cleared
    try:
        again.write(b"AT\r")
        assert read_until(again, b"OK\r\n") == b"AT\r\r\nOK\r\n"
    finally:
        again.close()


def test_a_disconnect_on_one_modem_leaves_the_others_alone(sim: SimulatorThread) -> None:
    sim.set_faults("sim1", disconnect=True)
    port = open_port(sim.endpoints["sim2"].pty or "")
    try:
        port.write(b"AT\r")
        assert read_until(port, b"OK\r\n") == b"AT\r\r\nOK\r\n"
    finally:
        port.close()
