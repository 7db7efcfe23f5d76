"""Sans-IO pieces for real devices' habits: test-command lists (nested, as Wavecom writes
them), the AT+CNMI choice from what a modem offers, and unsolicited vendor lines inside
answers told apart from the answer by their name."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.at import (
    AtProtocol,
    Final,
    Info,
    Item,
    Urc,
    answer_args,
    cnmi_choices,
    expand,
    offered,
    parse_items,
    reports_routed,
)

OK = Final("OK", None, "OK")
QUICK = settings(max_examples=100, deadline=None)

# --- test-command lists --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "groups"),
    [
        ('(("SM","BM","SR"),("SM"))', [["SM", "BM", "SR"], ["SM"]]),  # Wavecom: two memories, wrapped
        ('("SM","ME"),("SM","ME"),("SM","ME")', [["SM", "ME"]] * 3),
        ('("ME","MT","SM","SR"),("ME","MT","SM","SR"),("ME","MT","SM","SR")', [["ME", "MT", "SM", "SR"]] * 3),
        (
            "(0-3),(0-3),(0,2,3),(0-2),(1)",
            [["0", "1", "2", "3"], ["0", "1", "2", "3"], ["0", "2", "3"], ["0", "1", "2"], ["1"]],
        ),
        (
            "(0,1,2),(0-3),(0,2),(0,1,2),(0,1)",
            [["0", "1", "2"], ["0", "1", "2", "3"], ["0", "2"], ["0", "1", "2"], ["0", "1"]],
        ),
        ("(0-2),(0,2-3)", [["0", "1", "2"], ["0", "2", "3"]]),
        ("", []),
        ('("SM"', [["SM"]]),  # cut short: what can be read of it
        ('"SM"),("ME")', [["SM"], ["ME"]]),  # a stray ')' is passed over
    ],
)
def test_offered_values_per_parameter(answer: str, groups: list[list[str]]) -> None:
    assert offered(answer) == groups


def test_commas_and_parentheses_inside_quotes_are_text() -> None:
    assert parse_items('("a,(b)",c),,"x"') == [["a,(b)", "c"], "", "x"]


def test_expand_keeps_what_is_not_a_small_range() -> None:
    assert expand(["0-2", "7", "A-B", "5-1", "0-100000"]) == ["0", "1", "2", "7", "A-B", "5-1", "0-100000"]


_WORD = st.text(st.sampled_from("SMEB0123-"), min_size=1, max_size=5)
_QUOTED = st.text(st.sampled_from("SM ,()-1"), max_size=6)
_ITEMS: st.SearchStrategy[Item] = st.recursive(
    _WORD | _QUOTED.map(lambda s: f'"{s}"'),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)


def _render(item: Item) -> str:
    return "(" + ",".join(_render(i) for i in item) + ")" if isinstance(item, list) else item


def _unquote(item: Item) -> Item:
    if isinstance(item, list):
        return [_unquote(i) for i in item]
    return item[1:-1] if item.startswith('"') else item


@settings(max_examples=60, deadline=None)
@given(st.lists(_ITEMS, max_size=4))
def test_nested_lists_read_back_as_written(items: list[Item]) -> None:
    text = ",".join(_render(i) for i in items)
    assert parse_items(text) == [_unquote(i) for i in items]


@QUICK
@given(st.text(st.sampled_from('(),"ab1-'), max_size=40))
def test_any_text_parses_without_error(text: str) -> None:
    parse_items(text)
    offered(text)


# --- AT+CNMI from what is offered -------------------------------------------------------------


def test_cnmi_choice_follows_a_bfr_the_modem_offers() -> None:
    # Cinterion MC75i: <bfr> 1 only, so every <bfr>=0 setting would be refused.
    offer = offered("(0-3),(0-3),(0,2,3),(0-2),(1)")
    assert cnmi_choices(offer)[0] == "2,1,0,2,1"
    assert all(c.endswith(",1") for c in cnmi_choices(offer))


def test_cnmi_choice_keeps_reports_on_when_only_routing_is_offered() -> None:
    # SIM800: <ds> 0 or 1: reports routed (+CDS) beat no reports.
    choices = cnmi_choices(offered("(0-3),(0-3),(0,2),(0,1),(0,1)"))
    assert choices[0] == "2,1,0,1,0"
    routed = [reports_routed(c) for c in choices]
    assert routed == sorted(routed, reverse=True) and True in routed and False in routed  # every ds 1 form first


def test_cnmi_choice_prefers_stored_reports_and_store_and_indicate() -> None:
    assert cnmi_choices(offered("(0,1,2),(0-3),(0,2),(0,1,2),(0,1)"))[0] == "2,1,0,2,0"


def test_cnmi_choice_from_short_offers_and_none_without_indications() -> None:
    assert cnmi_choices(offered("(0-2),(0-3)")) == ["2,1", "1,1"]
    assert cnmi_choices(offered("(0-2),(0,2)")) == []  # cannot store and indicate
    assert cnmi_choices([]) == []


def test_reports_routed_reads_ds() -> None:
    assert [reports_routed(s) for s in ("2,1,0,2,1", "2,1,0,1,0", "2,1,0,0,0", "2,1", None)] == [
        True,
        True,
        False,
        False,
        False,
    ]


# --- unsolicited lines inside answers ---------------------------------------------------------


def started(command: str) -> AtProtocol:
    protocol = AtProtocol()
    protocol.send(command)
    return protocol


NWTIME = "^NWTIME: 18/03/09,12:36:21+4,00"


def test_vendor_line_inside_a_prefixed_answer_is_unsolicited() -> None:
    events = started("AT+CPMS?").feed(f'\r\n{NWTIME}\r\n+CPMS: "SM",0,30,"SM",0,30,"SM",0,30\r\n\r\nOK\r\n'.encode())
    assert events == [
        Urc("^NWTIME", "18/03/09,12:36:21+4,00", NWTIME),
        Info('+CPMS: "SM",0,30,"SM",0,30,"SM",0,30'),
        OK,
    ]


@pytest.mark.parametrize("command", ["AT+CGMI", "AT+CGMM", "AT+CGSN", "AT+CIMI", "AT+GMI"])
@pytest.mark.parametrize("line", [NWTIME, "^RSSI:20", "^BOOT:20952418,0,0,0,75", "+CREG: 1", "+ZUSIMR:2", "+PBREADY"])
def test_vendor_line_inside_a_prefixless_answer_is_unsolicited(command: str, line: str) -> None:
    events = started(command).feed(f"\r\n{line}\r\nhuawei\r\n\r\nOK\r\n".encode())
    assert events[1:] == [Info("huawei"), OK]
    assert isinstance(events[0], Urc) and events[0].line == line


def test_own_answer_under_a_related_name_is_info() -> None:
    assert started("AT+GMI").feed(b"\r\n+CGMI: WAVECOM MODEM\r\nOK\r\n") == [Info("+CGMI: WAVECOM MODEM"), OK]
    assert started("AT+CGSN").feed(b"\r\n+CGSN: 353142041234560\r\nOK\r\n") == [Info("+CGSN: 353142041234560"), OK]


def test_basic_command_keeps_its_plus_lines_and_drops_caret_lines() -> None:
    events = started("ATI").feed(b"\r\nManufacturer: huawei\r\n^RSSI:20\r\n+GCAP: +CGSM,+DS,+ES\r\n\r\nOK\r\n")
    assert events == [Info("Manufacturer: huawei"), Urc("^RSSI", "20", "^RSSI:20"), Info("+GCAP: +CGSM,+DS,+ES"), OK]


def test_message_under_a_listing_header_is_info_whatever_it_looks_like() -> None:
    events = started("AT+CMGL=4").feed(b'\r\n+CMGL: 1,"REC READ","+31611"\r\n+CREG: call me\r\n\r\nOK\r\n')
    assert events == [Info('+CMGL: 1,"REC READ","+31611"'), Info("+CREG: call me"), OK]


def test_answer_args_take_the_line_named_like_the_command() -> None:
    lines = ["^NWTIME: 18/03/09,12:36:21+4,00", '+CPMS: "SM",0,30', "+CPMS: later"]
    assert answer_args(lines, "+cpms") == '"SM",0,30'
    assert answer_args(lines, "+CNMI") is None


def test_read_form_is_known_while_pending() -> None:
    assert started("AT+CPIN?").reading
    assert not started("AT+CPIN=1234").reading
    assert not started("AT+CPMS=?").reading
    assert not AtProtocol().reading


_NAME = st.builds(
    str.__add__, st.sampled_from("CHNQRSZ"), st.text(st.sampled_from("CMSPIN0123"), min_size=1, max_size=6)
)
_VALUE = st.text(st.sampled_from('09aZ,./" '), max_size=16).map(str.strip)


@QUICK
@given(
    command=st.sampled_from(["AT+CPMS?", "AT+CSQ", "AT+CGMI", "AT+CSCA?", "AT^SYSINFO", "AT+CNMI=?"]),
    foreign=st.lists(st.tuples(st.sampled_from("+^#$"), _NAME, _VALUE), min_size=1, max_size=4),
    value=_VALUE.filter(lambda v: v and v[0].isalnum()),
    cuts=st.lists(st.integers(0, 400), max_size=8),
)
def test_lines_named_otherwise_are_unsolicited_and_the_rest_is_the_answer(
    command: str, foreign: list[tuple[str, str, str]], value: str, cuts: list[int]
) -> None:
    own = command[2:].split("?")[0].split("=")[0]
    lines = [f"{sigil}{name}: {args}".rstrip() for sigil, name, args in foreign if sigil + name != own]
    answer = f"{own}: {value}" if command not in ("AT+CGMI",) else value
    body = "".join(f"\r\n{line}\r\n" for line in lines[:1]) + f"\r\n{answer}\r\n"
    body += "".join(f"\r\n{line}\r\n" for line in lines[1:]) + "\r\nOK\r\n"
    data = body.encode()
    protocol = started(command)
    points = sorted({min(c, len(data)) for c in cuts})
    events = [e for a, b in itertools.pairwise([0, *points, len(data)]) for e in protocol.feed(data[a:b])]
    assert [e for e in events if isinstance(e, Info)] == [Info(answer)]
    assert [e.line for e in events if isinstance(e, Urc)] == lines
    assert events[-1] == OK
