"""What a recording may contain: identifiers masked in text and inside PDUs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers.at.masking import mask_line, mask_pdu
from drivers.sms import decode_pdu
from drivers.sms.pdu import encode_deliver, encode_submit

# An SMS-DELIVER from +31612345678 ("hello"), with the SMSC +31653131313 in front.
DELIVER = encode_deliver(
    "+31612345678", "hello", timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), smsc="+31653131313"
)[0]


@pytest.mark.parametrize(
    ("direction", "line", "masked"),
    [
        ("in", "353142041234560", "35314XXXXXXXXXX"),  # IMEI (AT+CGSN)
        ("in", "+CGSN: 353142041234560", "+CGSN: 35314XXXXXXXXXX"),
        ("in", "204081234567890", "20408XXXXXXXXXX"),  # IMSI: country and operator stay
        ("in", "^ICCID: 8931081234567890123", "^ICCID: 89310XXXXXXXXXXXXXX"),
        ("in", '+CSCA: "+31653131313",145', '+CSCA: "+31653XXXXXX",145'),
        ("in", '+CNUM: "","+31612345678",145', '+CNUM: "","+31612XXXXXX",145'),
        ("out", 'AT+CMGS="+31612345678"', 'AT+CMGS="+31612XXXXXX"'),
        ("out", 'AT+CPIN="1234"', 'AT+CPIN="****"'),
        ("in", 'AT+CPIN="1234"', 'AT+CPIN="****"'),  # the echo too
        ("out", 'AT+CLCK="SC",0,"0000"', 'AT+CLCK="SC",*,"****"'),
        # Not identifiers: left alone.
        ("in", "+CSQ: 20,99", "+CSQ: 20,99"),
        ("in", "11.126.85.00.209", "11.126.85.00.209"),
        ("in", '+CCLK: "26/12/05,07:19:12+04"', '+CCLK: "26/12/05,07:19:12+04"'),
        ("in", "^DSFLOWRPT:0000003C,0003E800", "^DSFLOWRPT:0000003C,0003E800"),
        ("in", "89310812345678901234", "89310XXXXXXXXXXXXXXX"),  # 20 digits: hex-like, yet no PDU
        ("in", "+CMGS: 12", "+CMGS: 12"),
    ],
)
def test_identifiers_are_masked_and_the_rest_kept(direction: str, line: str, masked: str) -> None:
    assert mask_line(direction, line) == masked  # type: ignore[arg-type]


def test_a_received_pdu_keeps_decoding_with_its_numbers_masked() -> None:
    masked = mask_line("in", DELIVER)
    assert "12345678" not in masked and "3131313" not in masked
    sms = decode_pdu(masked)
    assert sms.text == "hello"
    assert sms.number.startswith("+3161") and sms.number != "+31612345678"  # type: ignore[union-attr]
    assert sms.number.endswith("000000")  # type: ignore[union-attr]


def test_a_sent_pdu_keeps_its_length_and_text_with_the_recipient_masked() -> None:
    part = encode_submit("+31612345678", "see you at 8")[0]
    line = part.pdu + "\x1a"
    masked = mask_line("out", line)
    assert masked.endswith("\x1a") and len(masked) == len(line)
    sms = decode_pdu(masked[:-1])
    assert sms.text == "see you at 8"
    assert sms.number == "+31612000000"  # type: ignore[union-attr]


def test_hex_that_is_no_pdu_is_masked_as_text_or_left() -> None:
    assert mask_pdu("FFFF", sent=False) is None
    sender = encode_deliver("Bank", "code 123", timestamp=datetime(2026, 1, 2, tzinfo=UTC))[0]
    assert decode_pdu(mask_line("in", sender)).number == "Bank"  # a name, not a number: kept
