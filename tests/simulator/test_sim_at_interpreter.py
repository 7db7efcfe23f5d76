"""The simulated modem's AT interpreter, sans-IO: bytes in, bytes out, time on a fake clock.

Expected answers are byte-exact, as docs/modem-quirks.md describes common modems.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drivers.at.errors import describe_cme, describe_cms
from drivers.simulator.network import Network
from drivers.sms import SmsDeliver, SmsStatusReport, decode_pdu, encode_deliver, encode_submit
from tests.support.simulator import NOW, Line

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"


def cms(code: int) -> bytes:
    return f"\r\n+CMS ERROR: {code}\r\n".encode()


def cme(code: int) -> bytes:
    return f"\r\n+CME ERROR: {code}\r\n".encode()


def info(*lines: str) -> bytes:
    """One command's information block followed by OK."""
    return ("\r\n" + "\r\n".join(lines) + "\r\n").encode() + OK


def send_pdu(line: Line, to: str = "+31611111111", text: str = "hello", **kw: object) -> bytes:
    """AT+CMGS in PDU mode for a one-part message; returns the final answer."""
    part = encode_submit(to, text, **kw)[0]  # type: ignore[arg-type]
    assert line.at(f"AT+CMGS={part.tpdu_length}") == b"\r\n> "
    return line.send(part.pdu + "\x1a")


def deliver_pdu(text: str = "inbound", sender: str = "+31699999999") -> str:
    return encode_deliver(sender, text, timestamp=NOW, smsc="+31653131313")[0]


def tpdu_length(pdu: str) -> int:
    return len(pdu) // 2 - 1 - int(pdu[:2], 16)


# --- framing -------------------------------------------------------------------------------


def test_echo_is_on_at_power_up_and_ate0_turns_it_off(make_line: Callable[..., Line]) -> None:
    line = make_line(echo=True)
    assert line.at("AT") == b"AT\r" + OK
    assert line.at("ATE0") == b"ATE0\r" + OK
    assert line.at("AT") == OK
    assert line.at("ATE1") == OK
    assert line.at("at+cgmi") == b"at+cgmi\r" + info("huawei")


def test_lf_after_cr_is_ignored(line: Line) -> None:
    assert line.send("AT\r\n") == OK
    assert line.send("AT+CGMM\r\n") == info("E173")


def test_bare_escape_outside_a_prompt_is_ignored(line: Line) -> None:
    assert line.send("\x1b\r") == b""
    assert line.at("AT") == OK


def test_several_commands_on_one_line_get_one_final_result(line: Line) -> None:
    assert line.at("ATE0+CMEE=1;+CREG=2") == OK
    assert line.at("AT+CMEE?;+CREG?") == (b'\r\n+CMEE: 1\r\n\r\n+CREG: 2,1,"0A1B","3799B"\r\n' + OK)


def test_first_failing_command_ends_the_line(line: Line) -> None:
    assert line.at("AT+CMEE=1;+NOSUCH;+CREG=2") == ERROR
    assert line.at("AT+CREG?") == info("+CREG: 0,1")


def test_multi_line_answer_has_no_blank_lines_between_its_lines(line: Line) -> None:
    assert line.at("ATI") == info(
        "Manufacturer: huawei",
        "Model: E173",
        "Revision: 11.126.85.00.209",
        f"IMEI: {line.modem.profile.imei}",
        "+GCAP: +CGSM,+DS,+ES",
    )


def test_numeric_responses_with_atv0(line: Line) -> None:
    assert line.at("ATV0") == b"0\r"
    assert line.at("AT+CGMI") == b"huawei\r\n0\r"
    assert line.at("AT+NOSUCH") == b"4\r"
    assert line.at("ATV1") == OK


@pytest.mark.parametrize("command", ["AT+NOSUCH", "AT+MODE=2", "AT+CPROT=?", "AT$TSSPCSW=?", "ATW9x"])
def test_unknown_commands_answer_plain_error_even_with_cmee(line: Line, command: str) -> None:
    assert line.at(command) == ERROR
    assert line.at("AT+CMEE=1") == OK
    assert line.at(command) == ERROR


def test_identity_commands_answer_one_line_each(line: Line) -> None:
    p = line.modem.profile
    assert line.at("AT+CGMI") == info("huawei")
    assert line.at("AT+CGMM") == info("E173")
    assert line.at("AT+CGMR") == info(p.revision)
    assert line.at("AT+CGSN") == info(p.imei)
    assert line.at("AT+CIMI") == info(p.imsi)
    assert line.at("AT+GCAP") == info("+GCAP: +CGSM,+DS,+ES")


def test_commands_clients_send_during_init_answer_ok(line: Line) -> None:
    for command in (
        "ATZ",
        "AT&F",
        "ATQ0",
        "ATV1",
        "AT+CLIP=1",
        "AT+CRC=1",
        "AT+CVHU=0",
        "AT+CUSD=1",
        "AT+CUSD=0",
        "AT+CFUN=1",
        "AT^CURC=0",
        "AT+CMMS=2",
        "AT+CSDH=1",
        "AT+COPS=3,0",
        "AT+CSMP=49,167,0,0",
    ):
        line.at("ATE0")
        assert line.at(command) == OK, command


def test_clac_lists_the_commands_it_knows(line: Line) -> None:
    lines = line.at("AT+CLAC").split(b"\r\n")
    assert lines[-2:] == [b"OK", b""]
    assert {b"AT+CMGS", b"AT+CNMI", b"AT+CPMS", b"AT+CSCA"} <= set(lines)


# --- CMEE ----------------------------------------------------------------------------------


def test_cmee_0_and_1_for_sms_errors(line: Line) -> None:
    assert line.at("AT+CMGR=0") == ERROR  # index 0 is out of range (storage starts at 1)
    assert line.at("AT+CMEE=1") == OK
    assert line.at("AT+CMGR=0") == cms(321)


def test_cmee_0_and_1_for_equipment_errors(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234")
    assert line.at("AT+CIMI") == ERROR
    assert line.at("AT+CMEE=1") == OK
    assert line.at("AT+CIMI") == cme(11)


def test_cmee_2_gives_the_error_texts(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234")
    assert line.at("AT+CMEE=2") == OK
    assert line.at("AT+CIMI") == f"\r\n+CME ERROR: {describe_cme(11)}\r\n".encode()
    assert line.at("AT+CMGR=0") == f"\r\n+CMS ERROR: {describe_cms(311)}\r\n".encode()
    assert describe_cme(11) == "SIM PIN required"


# --- SIM PIN -------------------------------------------------------------------------------


def test_pin_unlocks_the_sim(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234")
    line.at("AT+CMEE=1")
    assert line.at("AT+CPIN?") == info("+CPIN: SIM PIN")
    assert line.at('AT+CPIN="1234"') == OK
    assert line.at("AT+CPIN?") == info("+CPIN: READY")
    assert line.at("AT+CIMI") == info(line.modem.profile.imsi)


def test_three_wrong_pins_ask_for_the_puk_and_the_puk_sets_a_new_pin(
    make_line: Callable[..., Line],
) -> None:
    line = make_line(pin="1234", puk="87654321")
    line.at("AT+CMEE=1")
    for _ in range(2):
        assert line.at('AT+CPIN="0000"') == cme(16)
        assert line.at("AT+CPIN?") == info("+CPIN: SIM PIN")
    assert line.at('AT+CPIN="0000"') == cme(16)
    assert line.at("AT+CPIN?") == info("+CPIN: SIM PUK")
    assert line.at("AT+CIMI") == cme(12)
    assert line.at('AT+CPIN="1234"') == cme(16)  # the right PIN no longer helps
    assert line.at('AT+CPIN="11111111","4321"') == cme(16)  # wrong PUK
    assert line.at('AT+CPIN="87654321","4321"') == OK
    assert line.at("AT+CPIN?") == info("+CPIN: READY")
    assert line.at("AT+CIMI") == info(line.modem.profile.imsi)


def test_ten_wrong_puks_block_the_sim_for_good(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234", puk="87654321")
    line.at("AT+CMEE=1")
    for _ in range(3):
        line.at('AT+CPIN="0000"')
    for _ in range(9):
        assert line.at('AT+CPIN="00000000","1111"') == cme(16)
    assert line.at("AT^CPIN?") == info("^CPIN: SIM PUK,1,1,0,10,3")
    assert line.at('AT+CPIN="00000000","1111"') == cme(13)
    assert line.at('AT+CPIN="87654321","1111"') == cme(13)
    assert line.at("AT+CPIN?") == cme(13)
    assert line.at("AT+CIMI") == cme(13)


def test_huawei_cpin_shows_attempts_left(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234")
    assert line.at("AT^CPIN?") == info("^CPIN: SIM PIN,3,10,3,10,3")
    line.at('AT+CPIN="0000"')
    assert line.at("AT^CPIN?") == info("^CPIN: SIM PIN,2,10,2,10,3")
    line.at('AT+CPIN="1234"')
    assert line.at("AT^CPIN?") == info("^CPIN: READY,,10,3,10,3")


def test_sms_commands_need_the_pin_too(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234")
    line.at("AT+CMEE=1")
    assert line.at("AT+CPMS?") == cms(311)
    assert line.at("AT+CMGS=20") == cms(311)


# --- sending in PDU mode -------------------------------------------------------------------


def test_cmgs_prompts_then_sends_and_answers_the_message_reference(line: Line, network: Network) -> None:
    part = encode_submit("+31611111111", "Hi {there} €")[0]
    assert line.at(f"AT+CMGS={part.tpdu_length}") == b"\r\n> "
    assert line.send(part.pdu[:20]) == b""  # typing the PDU...
    assert line.send(part.pdu[20:] + "\x1a") == b"\r\n+CMGS: 0\r\n" + OK
    [got] = network.received
    assert (got.recipient, got.text, got.message_reference) == ("+31611111111", "Hi {there} €", 0)


def test_cmgs_echoes_the_pdu_when_echo_is_on(make_line: Callable[..., Line]) -> None:
    line = make_line(echo=True)
    part = encode_submit("+31611111111", "hi")[0]
    assert line.at(f"AT+CMGS={part.tpdu_length}") == f"AT+CMGS={part.tpdu_length}\r\r\n> ".encode()
    assert line.send(part.pdu + "\x1a") == part.pdu.encode() + b"\x1a\r\n+CMGS: 0\r\n" + OK


def test_cmgs_ignores_line_breaks_and_spaces_inside_the_pdu(line: Line, network: Network) -> None:
    part = encode_submit("+31611111111", "split")[0]
    line.at(f"AT+CMGS={part.tpdu_length}")
    assert line.send(part.pdu[:10] + "\r\n" + part.pdu[10:] + " \x1a") == b"\r\n+CMGS: 0\r\n" + OK
    assert network.received[0].text == "split"


def test_cmgs_length_mismatch_is_cms_304_and_sends_nothing(line: Line, network: Network) -> None:
    line.at("AT+CMEE=1")
    part = encode_submit("+31611111111", "hello")[0]
    assert line.at(f"AT+CMGS={part.tpdu_length + 1}") == b"\r\n> "
    assert line.send(part.pdu + "\x1a") == cms(304)
    assert network.received == []


def test_cmgs_bad_hex_is_cms_304(line: Line, network: Network) -> None:
    line.at("AT+CMEE=1")
    assert line.at("AT+CMGS=10") == b"\r\n> "
    assert line.send("0011ZZ000B91\x1a") == cms(304)
    assert network.received == []


def test_escape_at_the_prompt_aborts_with_ok_and_sends_nothing(line: Line, network: Network) -> None:
    part = encode_submit("+31611111111", "never")[0]
    line.at(f"AT+CMGS={part.tpdu_length}")
    assert line.send(part.pdu + "\x1b") == OK
    assert network.received == []
    assert line.at("AT") == OK  # back in command mode


def test_message_reference_wraps_from_255_to_0(make_line: Callable[..., Line]) -> None:
    line = make_line(mr_start=254)
    assert send_pdu(line) == b"\r\n+CMGS: 254\r\n" + OK
    assert send_pdu(line) == b"\r\n+CMGS: 255\r\n" + OK
    assert send_pdu(line) == b"\r\n+CMGS: 0\r\n" + OK


def test_no_smsc_anywhere_is_cms_330(line: Line, network: Network) -> None:
    line.at("AT+CMEE=1")
    assert line.at('AT+CSCA=""') == OK
    assert send_pdu(line) == cms(330)  # the PDU carries no SMSC (prefix 00) either
    assert send_pdu(line, smsc="+31653131313") == b"\r\n+CMGS: 0\r\n" + OK


# --- sending in text mode ------------------------------------------------------------------


def test_cmgs_in_text_mode(line: Line, network: Network) -> None:
    assert line.at("AT+CMGF=1") == OK
    assert line.at('AT+CMGS="+31611111111"') == b"\r\n> "
    assert line.send("Plain text\x1a") == b"\r\n+CMGS: 0\r\n" + OK
    [got] = network.received
    assert (got.recipient, got.text, got.status_report_request) == ("+31611111111", "Plain text", False)


def test_text_mode_asks_for_a_status_report_when_csmp_fo_says_so(line: Line, network: Network) -> None:
    line.at("AT+CMGF=1")
    assert line.at("AT+CSMP?") == info("+CSMP: 17,167,0,0")
    assert line.at("AT+CSMP=49,167,0,0") == OK
    assert line.at("AT+CSMP?") == info("+CSMP: 49,167,0,0")
    line.at('AT+CMGS="31611111111",129')
    line.send("report me\x1a")
    assert network.received[0].status_report_request is True


# --- storage: CPMS, CMGL, CMGR, CMGD -------------------------------------------------------


def test_cpms_read_test_and_set_formats(line: Line, network: Network) -> None:
    network.inbound_pdu(line.modem.modem_id, deliver_pdu())
    assert line.at("AT+CPMS=?") == info('+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")')
    assert line.at("AT+CPMS?") == info('+CPMS: "SM",1,30,"SM",1,30,"SM",1,30')
    assert line.at('AT+CPMS="ME","ME"') == info("+CPMS: 0,100,0,100,1,30")
    assert line.at("AT+CPMS?") == info('+CPMS: "ME",0,100,"ME",0,100,"SM",1,30')
    assert line.at('AT+CPMS="SM"') == info("+CPMS: 1,30,0,100,1,30")
    line.at("AT+CMEE=1")
    assert line.at('AT+CPMS="XX"') == cms(303)


def test_cmgl_4_lists_pdus_and_marks_them_read(line: Line, network: Network) -> None:
    first, second = deliver_pdu("one"), deliver_pdu("two")
    network.inbound_pdu(line.modem.modem_id, first)
    network.inbound_pdu(line.modem.modem_id, second)
    expected = (
        f"\r\n+CMGL: 1,0,,{tpdu_length(first)}\r\n{first}\r\n+CMGL: 2,0,,{tpdu_length(second)}\r\n{second}\r\n"
    ).encode() + OK
    assert line.at("AT+CMGL=4") == expected
    assert line.at("AT+CMGL=4") == expected.replace(b"+CMGL: 1,0,", b"+CMGL: 1,1,").replace(
        b"+CMGL: 2,0,", b"+CMGL: 2,1,"
    )
    assert line.at("AT+CMGL=0") == OK  # nothing unread any more


def test_cmgl_on_empty_storage_is_just_ok(line: Line) -> None:
    assert line.at("AT+CMGL=4") == OK


def test_cmgl_with_a_text_stat_in_pdu_mode_is_cms_302(line: Line) -> None:
    line.at("AT+CMEE=1")
    assert line.at('AT+CMGL="ALL"') == cms(302)


def test_cmgl_in_text_mode(line: Line, network: Network) -> None:
    network.inbound_pdu(line.modem.modem_id, deliver_pdu("text mode", sender="+31699999999"))
    line.at("AT+CMGF=1")
    assert line.at('AT+CMGL="ALL"') == info('+CMGL: 1,"REC UNREAD","+31699999999",,"26/03/14,15:09:26+00"', "text mode")


def test_cmgr_reads_a_message_and_marks_it_read(line: Line, network: Network) -> None:
    pdu = deliver_pdu("read me")
    network.inbound_pdu(line.modem.modem_id, pdu)
    assert line.at("AT+CMGR=1") == info(f"+CMGR: 0,,{tpdu_length(pdu)}", pdu)
    assert line.at("AT+CMGR=1") == info(f"+CMGR: 1,,{tpdu_length(pdu)}", pdu)


def test_cmgr_empty_slot_is_ok_and_out_of_range_is_cms_321(line: Line) -> None:
    line.at("AT+CMEE=1")
    assert line.at("AT+CMGR=5") == OK
    assert line.at("AT+CMGR=0") == cms(321)
    assert line.at("AT+CMGR=31") == cms(321)


def test_cmgd_deletes_one_message_or_by_flag(line: Line, network: Network) -> None:
    for text in ("a", "b", "c"):
        network.inbound_pdu(line.modem.modem_id, deliver_pdu(text))
    assert line.at("AT+CMGR=1").startswith(b"\r\n+CMGR: 0,,")  # 1 is read now, 2 and 3 unread
    assert line.at("AT+CMGD=?") == info("+CMGD: (1,2,3),(0-4)")
    assert line.at("AT+CMGD=2") == OK
    assert line.at("AT+CMGR=2") == OK
    assert line.at("AT+CMGD=0,1") == OK  # delflag 1: all read ones (index ignored)
    assert line.at("AT+CMGR=1") == OK
    assert line.at("AT+CMGR=3").startswith(b"\r\n+CMGR: 0,,")
    assert line.at("AT+CMGD=1,4") == OK  # everything
    assert line.at("AT+CPMS?") == info('+CPMS: "SM",0,30,"SM",0,30,"SM",0,30')
    line.at("AT+CMEE=1")
    assert line.at("AT+CMGD=31") == cms(321)


# --- new message indications (CNMI) ---------------------------------------------------------


def test_cnmi_accepts_omitted_values_and_reads_back(line: Line) -> None:
    assert line.at("AT+CNMI=?") == info("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)")
    assert line.at("AT+CNMI=2,,,2") == OK
    assert line.at("AT+CNMI=2,1") == OK
    assert line.at("AT+CNMI?") == info("+CNMI: 2,1,0,2,0")
    assert line.at("AT+CNMI=1,2,0,1,0") == OK
    assert line.at("AT+CNMI?") == info("+CNMI: 1,2,0,1,0")


@pytest.mark.parametrize("setting", ["3,1", "2,4", "2,1,1", "2,1,0,3", "2,1,0,0,2", "2,1,0,0,0,0"])
def test_cnmi_outside_the_advertised_values_is_cms_303(line: Line, setting: str) -> None:
    line.at("AT+CMEE=1")
    assert line.at(f"AT+CNMI={setting}") == cms(303)


def test_mt_1_stores_then_indicates(line: Line, network: Network) -> None:
    line.at("AT+CNMI=2,1,0,0,0")
    network.inbound_pdu(line.modem.modem_id, deliver_pdu())
    assert line.read() == b'\r\n+CMTI: "SM",1\r\n'


def test_mt_2_routes_the_pdu_to_the_te_without_storing(line: Line, network: Network) -> None:
    line.at("AT+CNMI=2,2,0,0,0")
    pdu = deliver_pdu("direct")
    network.inbound_pdu(line.modem.modem_id, pdu)
    assert line.read() == f"\r\n+CMT: ,{tpdu_length(pdu)}\r\n{pdu}\r\n".encode()
    assert line.at("AT+CPMS?") == info('+CPMS: "SM",0,30,"SM",0,30,"SM",0,30')


def test_mt_0_stores_silently(line: Line, network: Network) -> None:
    network.inbound_pdu(line.modem.modem_id, deliver_pdu())
    assert line.read() == b""
    assert line.at("AT+CMGL=4").startswith(b"\r\n+CMGL: 1,0,,")


def test_ds_1_routes_status_reports_as_cds(line: Line) -> None:
    line.at("AT+CNMI=2,1,0,1,0")
    assert send_pdu(line, status_report=True) == b"\r\n+CMGS: 0\r\n" + OK
    urc = line.advance(0)
    head, pdu, tail = urc.split(b"\r\n")[1:4]
    assert head == f"+CDS: {tpdu_length(pdu.decode())}".encode() and tail == b""
    report = decode_pdu(pdu.decode())
    assert isinstance(report, SmsStatusReport)
    assert (report.message_reference, report.status, report.number) == (0, 0x00, "+31611111111")


def test_ds_2_stores_status_reports_and_indicates(line: Line) -> None:
    line.at("AT+CNMI=2,1,0,2,0")
    send_pdu(line, status_report=True)
    assert line.advance(0) == b'\r\n+CDSI: "SM",1\r\n'
    listing = line.at("AT+CMGL=4").split(b"\r\n")
    assert isinstance(decode_pdu(listing[2].decode()), SmsStatusReport)


def test_no_status_report_unless_requested(line: Line) -> None:
    line.at("AT+CNMI=2,1,0,1,0")
    send_pdu(line, status_report=False)
    assert line.advance(60) == b""


def test_mode_0_buffers_indications_until_cnmi_flushes_them(line: Line, network: Network) -> None:
    line.at("AT+CNMI=0,1,0,2,0")
    network.inbound_pdu(line.modem.modem_id, deliver_pdu("one"))
    send_pdu(line, status_report=True)
    assert line.advance(1) == b""
    assert line.at("AT+CNMI=2,1,0,2,0") == OK + b'\r\n+CMTI: "SM",1\r\n\r\n+CDSI: "SM",2\r\n'
    assert line.at("AT+CNMI?") == info("+CNMI: 2,1,0,2,0")


def test_bfr_1_drops_the_buffered_indications(line: Line, network: Network) -> None:
    line.at("AT+CNMI=0,1,0,0,0")
    network.inbound_pdu(line.modem.modem_id, deliver_pdu())
    assert line.at("AT+CNMI=2,1,0,0,1") == OK
    assert line.at("AT+CPMS?") == info('+CPMS: "SM",1,30,"SM",1,30,"SM",1,30')  # still stored


def test_text_mode_cmt_and_cds(line: Line, network: Network) -> None:
    line.at("AT+CMGF=1")
    line.at("AT+CNMI=2,2,0,1,0")
    network.inbound_pdu(line.modem.modem_id, deliver_pdu("text cmt", sender="+31699999999"))
    assert line.read() == b'\r\n+CMT: "+31699999999",,"26/03/14,15:09:26+00"\r\ntext cmt\r\n'
    line.at("AT+CSMP=49,167,0,0")
    line.at('AT+CMGS="+31611111111"')
    assert line.send("report\x1a") == b"\r\n+CMGS: 0\r\n" + OK
    assert line.advance(0) == (b'\r\n+CDS: 6,0,"+31611111111",145,"26/03/14,15:09:26+00","26/03/14,15:09:26+00",0\r\n')


def test_text_mode_shows_ucs2_as_hex(line: Line, network: Network) -> None:
    network.inbound("sim1", "+31699999999", "Жук")
    line.at("AT+CMGF=1")
    assert line.at("AT+CMGR=1") == info('+CMGR: "REC UNREAD","+31699999999",,"26/03/14,15:09:26+00"', "04160443043A")


def test_urcs_wait_while_a_command_runs_and_follow_its_final_result(line: Line, network: Network) -> None:
    line.at("AT+CNMI=2,1,0,0,0")
    line.modem.set_faults({"slow": 1.0})
    assert line.at("AT+CSQ") == b""  # the answer takes a second
    network.inbound_pdu(line.modem.modem_id, deliver_pdu())
    assert line.read() == b""
    assert line.advance(1.0) == info("+CSQ: 20,99") + b'\r\n+CMTI: "SM",1\r\n'


def test_urcs_wait_while_the_cmgs_prompt_is_open(line: Line, network: Network) -> None:
    line.at("AT+CNMI=2,1,0,0,0")
    part = encode_submit("+31611111111", "x")[0]
    assert line.at(f"AT+CMGS={part.tpdu_length}") == b"\r\n> "
    network.inbound_pdu(line.modem.modem_id, deliver_pdu())
    assert line.read() == b""
    assert line.send(part.pdu + "\x1a") == b"\r\n+CMGS: 0\r\n" + OK + b'\r\n+CMTI: "SM",1\r\n'


def test_full_storage_keeps_the_message_at_the_network_until_space_is_freed(
    make_line: Callable[..., Line], network: Network
) -> None:
    line = make_line(sm_capacity=2)
    line.at("AT+CNMI=2,1,0,0,0")
    for text in ("one", "two", "three"):
        network.inbound_pdu(line.modem.modem_id, deliver_pdu(text))
    assert line.read() == b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n'  # no URC for "three"
    assert line.at("AT+CMGD=1") == OK + b'\r\n+CMTI: "SM",1\r\n'
    sms = decode_pdu(line.at("AT+CMGR=1").split(b"\r\n")[2].decode())
    assert isinstance(sms, SmsDeliver) and sms.text == "three"


def test_csms_1_needs_cnma_for_each_cmt_and_holds_the_next_until_then(line: Line, network: Network) -> None:
    line.at("AT+CMEE=1")
    assert line.at("AT+CSMS=?") == info("+CSMS: (0,1)")
    assert line.at("AT+CSMS=1") == info("+CSMS: 1,1,1")
    assert line.at("AT+CSMS?") == info("+CSMS: 1,1,1,1")
    line.at("AT+CNMI=2,2,0,0,0")
    first, second = deliver_pdu("first"), deliver_pdu("second")
    network.inbound_pdu(line.modem.modem_id, first)
    network.inbound_pdu(line.modem.modem_id, second)
    assert line.read() == f"\r\n+CMT: ,{tpdu_length(first)}\r\n{first}\r\n".encode()
    assert line.at("AT+CNMA") == OK + f"\r\n+CMT: ,{tpdu_length(second)}\r\n{second}\r\n".encode()
    assert line.at("AT+CNMA") == OK
    assert line.at("AT+CNMA") == cms(340)


def test_cnma_without_a_pending_message_is_cms_340(line: Line) -> None:
    line.at("AT+CMEE=1")
    assert line.at("AT+CNMA") == cms(340)


def test_unacknowledged_cmt_turns_routing_off_and_the_message_is_stored(line: Line, network: Network) -> None:
    line.at("AT+CSMS=1")
    line.at("AT+CNMI=2,2,0,1,0")
    network.inbound_pdu(line.modem.modem_id, deliver_pdu("unacked"))
    assert line.read().startswith(b"\r\n+CMT: ,")
    assert line.advance(14.9) == b""
    assert line.advance(0.2) == b""  # 27.005 §3.4.1: routing off, so no URC for the retry
    assert line.at("AT+CNMI?") == info("+CNMI: 2,0,0,0,0")
    sms = decode_pdu(line.at("AT+CMGR=1").split(b"\r\n")[2].decode())
    assert isinstance(sms, SmsDeliver) and sms.text == "unacked"


# --- network, signal, SMSC -----------------------------------------------------------------


def test_signal_registration_operator_and_attach_formats(line: Line) -> None:
    assert line.at("AT+CSQ") == info("+CSQ: 20,99")
    assert line.at("AT+CSQ=?") == info("+CSQ: (0-31,99),(0-7,99)")
    assert line.at("AT+CREG?") == info("+CREG: 0,1")
    assert line.at("AT+CGREG?") == info("+CGREG: 0,1")
    assert line.at("AT+CGATT?") == info("+CGATT: 1")
    assert line.at("AT+COPS?") == info('+COPS: 0,0,"SimNet",0')
    assert line.at("AT+COPS=3,2") == OK
    assert line.at("AT+COPS?") == info('+COPS: 0,2,"20408",0')


def test_csca_read_and_set(line: Line) -> None:
    assert line.at("AT+CSCA?") == info('+CSCA: "+31653131313",145')
    assert line.at('AT+CSCA="+31600000001",145') == OK
    assert line.at("AT+CSCA?") == info('+CSCA: "+31600000001",145')
    assert line.at('AT+CSCA="31600000002",145') == OK
    assert line.at("AT+CSCA?") == info('+CSCA: "+31600000002",145')
    assert line.at('AT+CSCA=""') == OK
    assert line.at("AT+CSCA?") == info('+CSCA: "",129')


def test_ucs2_character_set_hex_encodes_string_results(line: Line) -> None:
    assert line.at('AT+CSCS="UCS2"') == OK
    assert line.at("AT+CSCA?") == info('+CSCA: "002B00330031003600350033003100330031003300310033",145')
    assert line.at('AT+CSCA="002B0033003100360030",145') == OK
    assert line.at('AT+CSCS="00470053004D"') == OK  # "GSM", itself written in UCS2
    assert line.at("AT+CSCS?") == info('+CSCS: "GSM"')
    assert line.at("AT+CSCA?") == info('+CSCA: "+3160",145')


def test_no_registration_fault(line: Line) -> None:
    line.at("AT+CMEE=1")
    line.at("AT+CREG=1")
    line.modem.set_faults({"no_registration": True})
    assert line.read() == b"\r\n+CREG: 0\r\n"
    assert line.at("AT+CREG?") == info("+CREG: 1,0")
    assert line.at("AT+CSQ") == info("+CSQ: 99,99")
    assert line.at("AT+CGATT?") == info("+CGATT: 0")
    assert send_pdu(line) == cms(331)
    line.at("AT+CREG=2")
    line.modem.clear_faults()
    assert line.read() == b'\r\n+CREG: 1,"0A1B","3799B"\r\n'
    assert send_pdu(line) == b"\r\n+CMGS: 0\r\n" + OK


def test_creg_set_alone_sends_no_urc(line: Line) -> None:
    assert line.at("AT+CREG=1") == OK
    assert line.advance(10) == b""


def test_cfun_flight_mode_deregisters(line: Line) -> None:
    line.at("AT+CMEE=1")
    line.at("AT+CREG=1")
    assert line.at("AT+CFUN=4") == OK + b"\r\n+CREG: 0\r\n"
    assert line.at("AT+CFUN?") == info("+CFUN: 4")
    assert send_pdu(line) == cms(331)
    assert line.at("AT+CFUN=1") == OK + b"\r\n+CREG: 1\r\n"
    assert send_pdu(line) == b"\r\n+CMGS: 0\r\n" + OK


def test_cfun_1_1_restarts_into_power_up_state(make_line: Callable[..., Line]) -> None:
    line = make_line(pin="1234")
    line.at('AT+CPIN="1234"')
    line.at("AT+CMGF=1")
    line.at("AT+CNMI=2,1")
    assert line.at("AT+CFUN=1,1") == OK
    assert line.advance(1) == b"\r\n^SIMST:1\r\n\r\n^SRVST:2\r\n"
    assert line.at("AT") == b"AT\r" + OK  # echo is back on
    line.at("ATE0")
    assert line.at("AT+CMGF?") == info("+CMGF: 0")
    assert line.at("AT+CNMI?") == info("+CNMI: 0,0,0,0,0")
    assert line.at("AT+CPIN?") == info("+CPIN: SIM PIN")
