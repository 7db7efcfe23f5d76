"""Behaviour of the sans-IO AT protocol on realistic modem output."""

from __future__ import annotations

import pytest

from drivers import AtProtocolError, CmeError, CmsError, CommandError
from drivers.at import (
    MAX_LINE,
    AtProtocol,
    Echo,
    Final,
    Garbage,
    Info,
    Prompt,
    Urc,
    split_args,
)
from harness.at_transcripts import DELIVER_1, OK, STATUS_REPORT, SUBMIT, TRANSCRIPTS, play


def started(command: str) -> AtProtocol:
    protocol = AtProtocol()
    protocol.send(command)
    return protocol


# -- whole transcripts ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_transcript_gives_expected_events(name: str) -> None:
    script, expected = TRANSCRIPTS[name]
    events, _ = play(script)
    assert events == expected


def test_cmgs_flow_writes_command_then_pdu_with_ctrl_z() -> None:
    script, _ = TRANSCRIPTS["huawei_e173_cmgs_echo_on"]
    _, written = play(script)
    assert written == [b"AT+CMGS=23\r", SUBMIT.encode() + b"\x1a"]


# -- commands and final results ------------------------------------------------


def test_send_returns_command_with_carriage_return() -> None:
    assert AtProtocol().send("AT+CSQ") == b"AT+CSQ\r"


def test_send_while_command_pending_raises() -> None:
    protocol = started("AT+CSQ")
    with pytest.raises(AtProtocolError):
        protocol.send("AT+CREG?")


@pytest.mark.parametrize("bad", ["", "   ", "AT\r+CSQ", "AT+CSQ\n", "AT\x1a", 'AT+CPBW=1,"é"'])
def test_send_rejects_what_is_not_one_ascii_line(bad: str) -> None:
    with pytest.raises(AtProtocolError):
        AtProtocol().send(bad)


def test_send_rejects_non_string() -> None:
    with pytest.raises(AtProtocolError):
        AtProtocol().send(b"AT")  # type: ignore[arg-type]


def test_final_result_clears_pending_command() -> None:
    protocol = started("AT+CSQ")
    assert protocol.pending == "AT+CSQ"
    protocol.feed(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    assert protocol.pending is None
    assert protocol.send("AT") == b"AT\r"


@pytest.mark.parametrize(
    ("line", "final"),
    [
        (b"OK", Final("OK", None, "OK")),
        (b"ERROR", Final("ERROR", None, "ERROR")),
        (b"+CMS ERROR: 500", Final("CMS", 500, "500")),
        (b"+CMS ERROR:304", Final("CMS", 304, "304")),
        (b"+CME ERROR: 10", Final("CME", 10, "10")),
        (b"+CME ERROR: SIM not inserted", Final("CME", 10, "SIM not inserted")),
        (b"+CME ERROR: sim pin required", Final("CME", 11, "sim pin required")),
        (b"+CME ERROR: unknown error", Final("CME", 100, "unknown error")),
        (b"+CMS ERROR: Unknown error", Final("CMS", 500, "Unknown error")),
        (b"+CME ERROR: no network service", Final("CME", 30, "no network service")),
        (b"NO CARRIER", Final("NO CARRIER", None, "NO CARRIER")),
        (b"BUSY", Final("BUSY", None, "BUSY")),
        (b"NO ANSWER", Final("NO ANSWER", None, "NO ANSWER")),
        (b"NO DIALTONE", Final("NO DIALTONE", None, "NO DIALTONE")),
        (b"CONNECT 115200", Final("CONNECT", None, "CONNECT 115200")),
        (b"COMMAND NOT SUPPORT", Final("ERROR", None, "COMMAND NOT SUPPORT")),
        (b"TOO MANY PARAMETERS", Final("ERROR", None, "TOO MANY PARAMETERS")),
    ],
)
def test_final_result_codes_are_recognised(line: bytes, final: Final) -> None:
    assert started("ATD123;").feed(b"\r\n" + line + b"\r\n") == [final]


def test_final_ok_property_and_error_mapping() -> None:
    assert Final("OK").ok and Final("CONNECT", None, "CONNECT").ok
    assert Final("OK").as_error() is None
    cms = Final("CMS", 330, "330").as_error()
    assert isinstance(cms, CmsError) and cms.code == 330
    cme = Final("CME", 11, "SIM PIN required").as_error()
    assert isinstance(cme, CmeError) and cme.code == 11 and cme.text == "SIM PIN required"
    assert isinstance(Final("NO CARRIER", None, "NO CARRIER").as_error(), CommandError)
    assert isinstance(Final("ERROR", None, "ERROR").as_error(), CommandError)


def test_connected_info_line_is_not_a_connect_result() -> None:
    assert started("AT+QIACT?").feed(b"\r\nCONNECTED\r\n") == [Info("CONNECTED")]


# -- echo -----------------------------------------------------------------------


def test_echo_on_reports_echo_not_info() -> None:
    assert started("AT+CSQ").feed(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n") == [
        Echo("AT+CSQ"),
        Info("+CSQ: 20,99"),
        OK,
    ]


def test_echo_matches_case_insensitively() -> None:
    assert started("at+csq").feed(b"AT+CSQ\r\r\nOK\r\n") == [Echo("AT+CSQ"), OK]


def test_line_equal_to_command_after_info_is_info() -> None:
    # Only the first copy, before any Info, is the echo.
    protocol = started("AT+CGMI")
    assert protocol.feed(b"AT+CGMI\r\r\nAT+CGMI\r\nOK\r\n") == [Echo("AT+CGMI"), Info("AT+CGMI"), OK]


# -- URCs versus information lines -------------------------------------------


def test_cmti_in_middle_of_csq_response_is_urc() -> None:
    events = started("AT+CSQ").feed(b'\r\n+CSQ: 20,99\r\n+CMTI: "SM",3\r\n\r\nOK\r\n')
    assert events == [Info("+CSQ: 20,99"), Urc("+CMTI", '"SM",3', '+CMTI: "SM",3'), OK]


def test_creg_read_response_is_info() -> None:
    assert started("AT+CREG?").feed(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n") == [Info("+CREG: 0,1"), OK]


def test_creg_test_response_is_info() -> None:
    assert started("AT+CREG=?").feed(b"\r\n+CREG: (0-2)\r\nOK\r\n") == [Info("+CREG: (0-2)"), OK]


def test_creg_during_other_command_is_urc() -> None:
    events = started("AT+CMGF=0").feed(b"\r\n+CREG: 1\r\n\r\nOK\r\n")
    assert events == [Urc("+CREG", "1", "+CREG: 1"), OK]


def test_creg_during_creg_set_command_is_urc() -> None:
    events = started("AT+CREG=1").feed(b"\r\n+CREG: 1\r\nOK\r\n")
    assert events == [Urc("+CREG", "1", "+CREG: 1"), OK]


def test_cpin_ready_without_pending_command_is_urc() -> None:
    assert AtProtocol().feed(b"\r\n+CPIN: READY\r\n") == [Urc("+CPIN", "READY", "+CPIN: READY")]


def test_cpin_read_response_is_info() -> None:
    assert started("AT+CPIN?").feed(b"\r\n+CPIN: READY\r\n\r\nOK\r\n") == [Info("+CPIN: READY"), OK]


def test_cpin_after_entering_pin_is_urc() -> None:
    events = started('AT+CPIN="1234"').feed(b"\r\nOK\r\n\r\n+CPIN: READY\r\n")
    assert events == [OK, Urc("+CPIN", "READY", "+CPIN: READY")]


def test_csq_urc_during_other_command_is_urc() -> None:
    events = started("AT+COPS?").feed(b'\r\n+CSQ: 14,99\r\n+COPS: 0,0,"KPN",7\r\nOK\r\n')
    assert events == [Urc("+CSQ", "14,99", "+CSQ: 14,99"), Info('+COPS: 0,0,"KPN",7'), OK]


def test_cfun_read_is_info_and_after_cfun_set_is_urc() -> None:
    assert started("AT+CFUN?").feed(b"\r\n+CFUN: 1\r\nOK\r\n") == [Info("+CFUN: 1"), OK]
    events = started("AT+CFUN=1").feed(b"\r\nOK\r\n\r\n+CFUN: 1\r\n")
    assert events == [OK, Urc("+CFUN", "1", "+CFUN: 1")]


def test_command_names_in_concatenated_command_count() -> None:
    events = started("AT+CMGF=0;+CREG?").feed(b"\r\n+CREG: 0,5\r\nOK\r\n")
    assert events == [Info("+CREG: 0,5"), OK]


def test_cmgs_reference_is_info_of_cmgs() -> None:
    protocol = started("AT+CMGS=23")
    protocol.feed(b"\r\n> ")
    protocol.send_pdu(SUBMIT)
    assert protocol.feed(b"\r\n+CMGS: 12\r\n\r\nOK\r\n") == [Info("+CMGS: 12"), OK]


def test_unknown_line_without_command_is_kept_as_urc() -> None:
    assert AtProtocol().feed(b"\r\n+ZUSIMR:2\r\nHello there\r\n") == [
        Urc("+ZUSIMR", "2", "+ZUSIMR:2"),
        Urc("Hello there", "", "Hello there"),
    ]


def test_line_named_like_another_command_during_command_is_urc() -> None:
    assert started("AT+CSQ").feed(b"\r\n+ZUSIMR:2\r\n+CSQ: 20,99\r\nOK\r\n") == [
        Urc("+ZUSIMR", "2", "+ZUSIMR:2"),
        Info("+CSQ: 20,99"),
        OK,
    ]


def test_bare_line_during_command_is_info() -> None:
    assert started("AT+CSQ").feed(b"\r\nHello there\r\nOK\r\n") == [Info("Hello there"), OK]


def test_extra_urc_names_are_urc_during_command() -> None:
    protocol = AtProtocol(extra_urcs=["+zusimr"])
    protocol.send("AT+CSQ")
    assert protocol.feed(b"\r\n+ZUSIMR:2\r\nOK\r\n") == [Urc("+ZUSIMR", "2", "+ZUSIMR:2"), OK]


def test_stray_final_result_without_command_is_urc() -> None:
    assert AtProtocol().feed(b"\r\nOK\r\n+CMS ERROR: 500\r\n") == [
        Urc("OK", "", "OK"),
        Urc("+CMS ERROR", "500", "+CMS ERROR: 500"),
    ]


def test_abandon_forgets_command_and_late_lines_become_urcs() -> None:
    protocol = started("AT+COPS=?")
    protocol.abandon()
    assert protocol.pending is None
    events = protocol.feed(b'\r\n+COPS: (2,"KPN","KPN","20408",7)\r\n\r\nOK\r\n')
    assert events == [
        Urc("+COPS", '(2,"KPN","KPN","20408",7)', '+COPS: (2,"KPN","KPN","20408",7)'),
        Urc("OK", "", "OK"),
    ]


def test_urcs_after_final_in_same_chunk_are_urcs() -> None:
    events = started("AT").feed(b"\r\nOK\r\n\r\n^RSSI:20\r\n")
    assert events == [OK, Urc("^RSSI", "20", "^RSSI:20")]


# -- +CMT / +CDS / +CBM bodies ---------------------------------------------------


def test_cmt_pdu_on_next_line_belongs_to_urc() -> None:
    events = AtProtocol().feed(b"\r\n+CMT: ,39\r\n" + DELIVER_1.encode() + b"\r\n")
    assert events == [Urc("+CMT", ",39", "+CMT: ,39", DELIVER_1)]


def test_cmt_with_alpha_takes_next_line() -> None:
    events = AtProtocol().feed(b'\r\n+CMT: "Mum",39\r\n' + DELIVER_1.encode() + b"\r\n")
    assert events == [Urc("+CMT", '"Mum",39', '+CMT: "Mum",39', DELIVER_1)]


def test_cmt_pdu_arriving_in_later_feed_still_belongs_to_urc() -> None:
    protocol = AtProtocol()
    assert protocol.feed(b"\r\n+CMT: ,39\r\n") == []
    protocol.send("AT+CSQ")
    events = protocol.feed(DELIVER_1.encode() + b"\r\n+CSQ: 9,99\r\nOK\r\n")
    assert events == [Urc("+CMT", ",39", "+CMT: ,39", DELIVER_1), Info("+CSQ: 9,99"), OK]


def test_cmt_in_middle_of_response_takes_its_pdu_not_the_response() -> None:
    protocol = started("AT+CPMS?")
    events = protocol.feed(
        b"\r\n+CMT: ,39\r\n" + DELIVER_1.encode() + b'\r\n+CPMS: "SM",3,30,"SM",3,30,"SM",3,30\r\nOK\r\n'
    )
    assert events == [
        Urc("+CMT", ",39", "+CMT: ,39", DELIVER_1),
        Info('+CPMS: "SM",3,30,"SM",3,30,"SM",3,30'),
        OK,
    ]


def test_cds_status_report_urc_with_pdu() -> None:
    events = AtProtocol().feed(b"\r\n+CDS: 25\r\n" + STATUS_REPORT.encode() + b"\r\n")
    assert events == [Urc("+CDS", "25", "+CDS: 25", STATUS_REPORT)]


def test_cds_in_text_mode_has_no_body() -> None:
    line = b'+CDS: 6,65,"+31612345678",145,"24/05/01,12:00:00+08","24/05/01,12:00:05+08",0'
    events = AtProtocol().feed(b"\r\n" + line + b"\r\n\r\nRING\r\n")
    text = line.decode()
    assert events == [Urc("+CDS", text.partition(":")[2].strip(), text), Urc("RING", "", "RING")]


def test_cbm_pdu_on_next_line() -> None:
    pdu = "0011223344556677"
    assert AtProtocol().feed(b"+CBM: 88\r\n" + pdu.encode() + b"\r\n") == [Urc("+CBM", "88", "+CBM: 88", pdu)]


def test_cmt_text_mode_body_is_next_line() -> None:
    header = '+CMT: "+31612345678",,"24/05/01,12:00:00+08"'
    events = AtProtocol().feed(header.encode() + b"\r\nHello, world\r\n")
    assert events == [Urc("+CMT", header[6:], header, "Hello, world")]


def test_cmt_header_followed_by_non_hex_reports_urc_without_pdu() -> None:
    events = started("AT").feed(b"\r\n+CMT: ,39\r\nOK\r\n")
    assert events == [Urc("+CMT", ",39", "+CMT: ,39", None), OK]


# -- prompt ---------------------------------------------------------------------


def test_prompt_split_between_gt_and_space() -> None:
    protocol = started("AT+CMGS=23")
    assert protocol.feed(b"\r\n>") == []
    assert protocol.feed(b" ") == [Prompt()]
    assert protocol.at_prompt


def test_prompt_without_space_before_line_end() -> None:
    assert started("AT+CMGS=23").feed(b"\r\n>\r\n") == [Prompt()]


def test_gt_line_is_info_when_no_prompt_expected() -> None:
    assert started("AT+CSQ").feed(b"> x\r\nOK\r\n") == [Info("> x"), OK]


def test_prompt_can_be_requested_for_other_commands() -> None:
    protocol = AtProtocol()
    protocol.send("AT+CNMA=0,23", prompt=True)
    assert protocol.feed(b"> ") == [Prompt()]


def test_send_pdu_before_prompt_raises() -> None:
    protocol = started("AT+CMGS=23")
    with pytest.raises(AtProtocolError):
        protocol.send_pdu(SUBMIT)


@pytest.mark.parametrize("bad", ["", "0G", "ABC", "00 11", "００"])
def test_send_pdu_rejects_what_is_not_hex_octets(bad: str) -> None:
    protocol = started("AT+CMGS=23")
    protocol.feed(b"> ")
    with pytest.raises(AtProtocolError):
        protocol.send_pdu(bad)


def test_abort_prompt_returns_escape_and_keeps_command_pending() -> None:
    protocol = started("AT+CMGS=23")
    protocol.feed(b"\r\n> ")
    assert protocol.abort_prompt() == b"\x1b"
    assert protocol.pending == "AT+CMGS=23"
    with pytest.raises(AtProtocolError):
        protocol.send_pdu(SUBMIT)
    assert protocol.feed(b"\r\nOK\r\n") == [OK]


def test_abort_prompt_without_prompt_command_raises() -> None:
    with pytest.raises(AtProtocolError):
        started("AT+CSQ").abort_prompt()


def test_cms_error_instead_of_prompt_ends_command() -> None:
    protocol = started("AT+CMGS=23")
    assert protocol.feed(b"\r\n+CMS ERROR: 331\r\n") == [Final("CMS", 331, "331")]
    assert protocol.pending is None and not protocol.at_prompt


def test_pdu_echo_without_ctrl_z_echo_is_still_echo() -> None:
    protocol = started("AT+CMGS=23")
    protocol.feed(b"> ")
    protocol.send_pdu(SUBMIT.lower())
    assert protocol.feed(SUBMIT.encode() + b"\r\n+CMGS: 3\r\nOK\r\n") == [Echo(SUBMIT), Info("+CMGS: 3"), OK]


# -- line endings, encodings, junk -------------------------------------------


def test_empty_lines_are_skipped() -> None:
    assert started("AT").feed(b"\r\n\r\n\n\r\r\r\nOK\r\n\r\n") == [OK]


def test_non_utf8_bytes_are_decoded_as_latin1() -> None:
    events = started("AT+COPS?").feed(b'\r\n+COPS: 0,0,"Telef\xf3nica"\r\nOK\r\n')
    assert events == [Info('+COPS: 0,0,"Telefónica"'), OK]


def test_utf8_text_is_decoded_as_utf8() -> None:
    events = started("AT+COPS?").feed('+COPS: 0,0,"Telefónica"\r\nOK\r\n'.encode())
    assert events == [Info('+COPS: 0,0,"Telefónica"'), OK]


def test_control_characters_are_reported_as_garbage() -> None:
    events = started("AT").feed(b"\x07\x08junk\r\nOK\r\n")
    assert events == [Garbage(b"\x07\x08junk"), OK]


def test_boot_noise_around_a_line_is_stripped() -> None:
    assert AtProtocol().feed(b"\x00\x00RDY\xff\r\n") == [Urc("RDY", "", "RDY")]


def test_overlong_line_is_reported_as_garbage_and_parsing_continues() -> None:
    protocol = started("AT")
    junk = b"x" * (MAX_LINE * 2 + 10)
    events = protocol.feed(junk)
    assert events == [Garbage(junk[:MAX_LINE]), Garbage(junk[MAX_LINE : 2 * MAX_LINE])]
    assert protocol.feed(b"\r\nOK\r\n") == [Garbage(junk[2 * MAX_LINE :]), OK]


def test_buffer_stays_bounded_by_max_line() -> None:
    protocol = AtProtocol()
    for _ in range(50):
        protocol.feed(b"y" * 1000)
    assert len(protocol._buffer) < MAX_LINE


def test_feed_rejects_str() -> None:
    with pytest.raises(AtProtocolError):
        AtProtocol().feed("OK\r\n")  # type: ignore[arg-type]


def test_feed_accepts_bytearray_and_memoryview() -> None:
    protocol = started("AT")
    assert protocol.feed(bytearray(b"\r\nO")) + protocol.feed(memoryview(b"K\r\n")) == [OK]


def test_reset_drops_buffer_and_command() -> None:
    protocol = started("AT")
    protocol.feed(b"\r\n+CMT: ,39\r\nOK")
    protocol.reset()
    assert protocol.pending is None
    assert protocol.feed(b"\r\nRING\r\n") == [Urc("RING", "", "RING")]


# -- +CUSD ------------------------------------------------------------------------


def test_cusd_with_newline_inside_quotes_is_one_urc() -> None:
    events = AtProtocol().feed(b'+CUSD: 0,"Line one\r\nLine two\r\nLine three",15\r\n')
    assert events == [
        Urc("+CUSD", '0,"Line one\nLine two\nLine three",15', '+CUSD: 0,"Line one\nLine two\nLine three",15')
    ]


def test_unterminated_cusd_ends_at_final_result() -> None:
    protocol = started('AT+CUSD=1,"*100#",15')
    events = protocol.feed(b'\r\n+CUSD: 0,"Balance 5\r\nOK\r\n')
    assert events == [Urc("+CUSD", '0,"Balance 5', '+CUSD: 0,"Balance 5'), OK]


def test_cusd_read_is_info() -> None:
    assert started("AT+CUSD?").feed(b"\r\n+CUSD: 1\r\nOK\r\n") == [Info("+CUSD: 1"), OK]


# -- helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ('"SM",3', ["SM", "3"]),
        (",23", ["", "23"]),
        ("", []),
        ("20,99", ["20", "99"]),
        ('0,"a,b",15', ["0", "a,b", "15"]),
    ],
)
def test_split_args_splits_outside_quotes(args: str, fields: list[str]) -> None:
    assert split_args(args) == fields
