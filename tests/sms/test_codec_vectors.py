"""Known PDUs pinned as tests, and malformed input.

Published examples are named after the document they come from; their decoded values are
the ones the document states (where a document's prose disagrees with its own octets, the
octets win and the test says so). Vectors built here from 3GPP TS 23.040 / 23.038 say which
clause they follow.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drivers.sms import (
    PduError,
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    decode_pdu,
    encode_status_report,
    encode_submit,
    fields,
    gsm7,
    to_dict,
    udh,
)


def tz(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


# "SMS messages and the PDU format" (the widely copied SMS-DELIVER example, also in many
# modem manuals): SMSC +27381000015, sender 27838890001 (type C8), 1999-03-29 15:16:59 +02:00.
HELLOHELLO = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"


def test_hellohello_deliver() -> None:
    sms = decode_pdu(HELLOHELLO)
    assert isinstance(sms, SmsDeliver)
    assert sms.smsc == "+27381000015"
    assert sms.number == "27838890001"  # type of number 100 (subscriber): no '+'
    assert sms.text == "hellohello"
    assert sms.encoding == "gsm7"
    assert sms.timestamp == datetime(1999, 3, 29, 15, 16, 59, tzinfo=tz(120))
    assert sms.concat is None and sms.udh == () and sms.message_class is None


def test_hellohello_submit_is_built_octet_for_octet() -> None:
    # Same document, SMS-SUBMIT: to +46708251358, TP-VP AA (4 days), no SMSC, no report.
    pdu = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    (part,) = encode_submit("+46708251358", "hellohello", validity=timedelta(days=4), status_report=False)
    assert part.pdu == pdu
    assert part.tpdu_length == 23
    sms = decode_pdu(pdu)
    assert isinstance(sms, SmsSubmit)
    assert (sms.number, sms.text, sms.validity) == ("+46708251358", "hellohello", timedelta(days=4))


def test_national_number_submit_is_built_octet_for_octet() -> None:
    # "SMS PDU mode, data format and length calculation": "hello" to 1234657 (type 81),
    # VP AA, AT+CMGS=17.
    pdu = "0011000781214356F70000AA05E8329BFD06"
    (part,) = encode_submit("1234657", "hello", validity=timedelta(days=4), status_report=False)
    assert (part.pdu, part.tpdu_length) == (pdu, 17)


def test_nordic_cmgs_example() -> None:
    # nRF91 AT command reference, AT+CMGS example: SMSC +448888888, to +358401234567,
    # length 42. The prose says "Testing a SMS messaging over LTE"; the octets (and
    # libgammu) say lower case, and the octets are what a modem sends.
    pdu = "069144888888F811000C9153481032547600000B20D4F29C9E769F4161D0BC3D07B5CBF379F89C769F416F7B590E62D3CB"
    text = "Testing a sms messaging over lte"
    sms = decode_pdu(pdu)
    assert (sms.smsc, sms.number, sms.text) == ("+448888888", "+358401234567", text)
    assert sms.validity == timedelta(hours=1)  # TP-VP 0B: (11 + 1) x 5 minutes
    (part,) = encode_submit("+358401234567", text, smsc="+448888888", validity=timedelta(hours=1), status_report=False)
    assert (part.pdu, part.tpdu_length) == (pdu, 42)


def test_submit_with_message_reference_and_max_validity() -> None:
    # "decode SMS-SUBMIT" walk-through: SMSC +8613800280500, MR 0x51, to 1861, VP FF.
    pdu = "0891683108200805F01151048181160000FF16C8329BFD66B5F320B8BC4CA7E741F7B79C4D0E01"
    sms = decode_pdu(pdu)
    assert isinstance(sms, SmsSubmit)
    assert sms.smsc == "+8613800280500"
    assert sms.message_reference == 0x51
    assert sms.number == "1861"
    assert sms.validity == timedelta(weeks=63)
    assert sms.text == "Hello,my pretty world!"


def test_hello_world_packing() -> None:
    # A TP-UD quoted in a Q&A about 7-bit decoding as the message "Hello World!". Its 6th
    # octet DD carries 'w' (0x77 << 2 | 1), not 'W' (0x57 -> 5D): the octets say "Hello world!".
    assert gsm7.pack(gsm7.encode("Hello world!")).hex().upper() == "C8329BFD06DDDF72363904"
    assert gsm7.decode(gsm7.unpack(bytes.fromhex("C8329BFD06DDDF72363904"), 12)) == "Hello world!"
    assert gsm7.pack(gsm7.encode("Hello World!")).hex().upper() == "C8329BFD065DDF72363904"


def test_seven_spare_bits_hold_cr() -> None:
    # 23.038 §6.1.2.3.1: 7 characters leave 7 spare bits in the 7th octet; they carry CR.
    packed = gsm7.pack(gsm7.encode("1234567"))
    assert len(packed) == 7 and packed[-1] >> 1 == 0x0D
    assert gsm7.unpack(packed) == gsm7.encode("1234567")
    assert gsm7.pack(gsm7.encode("1234567"), pad_cr=False)[-1] >> 1 == 0


def test_flash_sms_class_0() -> None:
    # "Sending a flash SMS message" (mobiletidings): DCS 10 = class 0. The article says
    # AT+CMGS=28, but its TPDU is 27 octets (13 of header, 14 for 16 septets).
    pdu = "0001010B915121551532F40010104190991D9EA341EDF27C1E3E9743"
    sms = decode_pdu(pdu)
    assert (sms.message_reference, sms.number, sms.text) == (1, "+15125551234", "A flash message!")
    assert sms.message_class == 0
    (part,) = encode_submit("+15125551234", "A flash message!", message_class=0, status_report=False)
    assert part.pdu == pdu.replace("000101", "000100", 1)  # ours leaves TP-MR to the modem
    assert part.tpdu_length == 27 == len(bytes.fromhex(pdu)) - 1


def test_voicemail_waiting_indication() -> None:
    # "Setting Voicemail Waiting Indication via SMS" (mobiletidings): DCS C8, AT+CMGS=27.
    pdu = "0001AB0B915121551532F400C80F3190BB7C07D9DFE971B91D4EB301"
    sms = decode_pdu(pdu)
    assert (sms.message_reference, sms.number, sms.text) == (0xAB, "+15125551234", "1 new voicemail")
    coding = fields.decode_dcs(0xC8)
    assert coding.waiting == (True, "voicemail") and coding.discard and coding.alphabet == "gsm7"


@pytest.mark.parametrize(
    ("dcs", "alphabet", "waiting", "discard"),
    [
        (0xC0, "gsm7", (False, "voicemail"), True),  # 1100: discard, indication off
        (0xC9, "gsm7", (True, "fax"), True),
        (0xDA, "gsm7", (True, "email"), False),  # 1101: store, GSM-7
        (0xE3, "ucs2", (False, "other"), False),  # 1110: store, UCS-2
        (0xEB, "ucs2", (True, "other"), False),
    ],
)
def test_message_waiting_groups_in_a_deliver(dcs, alphabet, waiting, discard) -> None:
    # 23.038 §4, groups 1100-1110, in the hellohello DELIVER with its DCS and text replaced.
    ud = "0A" + gsm7.pack(gsm7.encode("hellohello")).hex() if alphabet == "gsm7" else "04" + "0628062A"
    pdu = HELLOHELLO[: 2 * 18] + f"{dcs:02X}" + HELLOHELLO[2 * 19 : 2 * 26] + ud
    sms = decode_pdu(pdu)
    assert sms.waiting == waiting
    assert sms.encoding == alphabet
    assert sms.text == ("hellohello" if alphabet == "gsm7" else "\u0628\u062a")
    assert fields.decode_dcs(dcs).discard == discard


def test_ucs2_deliver() -> None:
    # A UCS-2 message read with AT+CMGR, from a handset developers' forum: two Arabic letters.
    pdu = "07910201956905F0040B910201014160F3000820219130521580040628062A"
    sms = decode_pdu(pdu)
    assert sms.encoding == "ucs2"
    assert sms.text == "\u0628\u062a"
    assert sms.number == "+20101014063"
    assert sms.timestamp == datetime(2002, 12, 19, 3, 25, 51, tzinfo=tz(120))


def test_alphanumeric_originator_with_concatenated_ucs2() -> None:
    # A +CMGL listing from a Q&A on alphanumeric sender IDs: sender "etisalat" (type D0,
    # 14 semi-octets), part 1 of 3 (ref 0x65), UCS-2; text mode showed the same UCS-2 hex.
    pdu = (
        "0791021197003899440ED0657A7A1E6687E934086101920163900042050003650301"
        "06440642062F002006270633062A064706440643062A0020064306440020062706440648062D"
        "062F0627062A0020062706440645062C06270646064A"
    )
    text = bytes.fromhex(
        "06440642062F002006270633062A064706440643062A0020064306440020062706440648062D"
        "062F0627062A0020062706440645062C06270646064A"
    ).decode("utf-16-be")
    sms = decode_pdu(pdu)
    assert sms.number == "etisalat"
    assert sms.text == text
    assert (sms.concat.ref, sms.concat.total, sms.concat.seq) == (0x65, 3, 1)
    assert sms.timestamp == datetime(2016, 10, 29, 10, 36, 9, tzinfo=tz(0))
    assert to_dict(sms)["udh"] == [{"iei": 0, "name": "concat8", "data": "650301", "ref": 0x65, "total": 3, "seq": 1}]


def test_alphanumeric_address_value() -> None:
    # "Type-of-address of the sender number" Q&A: D0 with value CEF4FACD0ECF01 = "Nikolas".
    address = bytes((13, 0xD0)) + bytes.fromhex("CEF4FACD0ECF01")
    assert fields.decode_address(address, 0) == ("Nikolas", len(address))
    assert fields.encode_alphanumeric_address("Nikolas") == address


def test_status_report() -> None:
    # "receiving an SMS status report message" (blog): +CDS PDU without SMSC prefix.
    tpdu = "06000B910221815716F2709021510121807090215101718000"
    for sms in (decode_pdu(tpdu, smsc=False), decode_pdu("00" + tpdu)):
        assert isinstance(sms, SmsStatusReport)
        assert sms.message_reference == 0
        assert sms.number == "+20121875612"
        assert sms.timestamp == datetime(2007, 9, 12, 15, 10, 12, tzinfo=tz(120))
        assert sms.discharge_time == datetime(2007, 9, 12, 15, 10, 17, tzinfo=tz(120))
        assert sms.status == 0 and sms.category == "delivered"
    built = encode_status_report(
        0,
        "+20121875612",
        timestamp=datetime(2007, 9, 12, 15, 10, 12, tzinfo=tz(120)),
        discharge_time=datetime(2007, 9, 12, 15, 10, 17, tzinfo=tz(120)),
        status=0,
    )
    # First octet 06: TP-MMS set, "no more messages are waiting" (23.040 §9.2.3.2).
    assert built == "00" + tpdu


def test_status_report_with_parameter_indicator_and_text() -> None:
    # 23.040 §9.2.2.3: TP-PI 07 announces PID, DCS and user data.
    tpdu = "06000B910221815716F2709021510121807090215101718046" + "07" + "00" + "00" + "05E8329BFD06"
    sms = decode_pdu(tpdu, smsc=False)
    assert sms.status == 0x46 and sms.category == "failed" and sms.text == "hello"


@pytest.mark.parametrize(
    ("octet", "minutes"),
    [
        ("80", 120),  # +02:00
        ("49", -210),  # -03:30 (Newfoundland): sign bit with tens 1, units 4 -> -14 quarters
        ("32", 345),  # +05:45 (Nepal): 23 quarters
        ("55", 825),  # +13:45 (Chatham): 55 quarters
        ("8B", -570),  # -09:30 (Marquesas): 38 quarters, negative
        ("08", 0),  # "-00"
    ],
)
def test_time_zones_in_quarter_hours(octet, minutes) -> None:
    # 23.040 §9.2.3.11: the time zone is quarter hours, first semi-octet's bit 3 the sign.
    sms = decode_pdu(HELLOHELLO[: 2 * 25] + octet + HELLOHELLO[2 * 26 :])
    assert sms.timestamp == datetime(1999, 3, 29, 15, 16, 59, tzinfo=tz(minutes))
    assert fields.encode_timestamp(sms.timestamp)[6] == (int(octet, 16) if minutes else 0)


def test_invalid_time_stamp_is_none_not_an_error() -> None:
    sms = decode_pdu(HELLOHELLO[: 2 * 19] + "99139251619580" + HELLOHELLO[2 * 26 :])  # month 31
    assert sms.timestamp is None and sms.text == "hellohello"


# WAP push user data from a NowSMS support thread ("Wap Push Header"): UDH 06 05 04 0B84 23F0
# (application ports 2948 <- 9200), then the WSP/SI body.
WAP_UD = ("0605040B8423F0FD0601AE02056A0045C60D03676F6F676C652E636F6D000701034269 6B61736800010100").replace(" ", "")


def test_wap_push_8bit_with_application_ports() -> None:
    ud = bytes.fromhex(WAP_UD)
    pdu = HELLOHELLO[:16] + "44" + HELLOHELLO[18 : 2 * 18] + "04" + HELLOHELLO[2 * 19 : 2 * 26]
    pdu += f"{len(ud):02X}" + WAP_UD
    sms = decode_pdu(pdu)
    assert sms.encoding == "8bit"
    assert sms.ports == udh.Ports(2948, 9200)
    assert sms.text == WAP_UD[14:].upper()  # 8-bit data is shown as hex, header excluded
    assert to_dict(sms)["udh"] == [
        {"iei": 5, "name": "ports16", "data": "0B8423F0", "destination_port": 2948, "origin_port": 9200}
    ]


def _deliver_with_udh(header: str, text: str) -> str:
    """hellohello's DELIVER with UDHI set and a GSM-7 user data of `header` + `text`."""
    h = bytes.fromhex(header)
    skip = (len(h) * 8 + 6) // 7
    septets = gsm7.encode(text)
    ud = h + gsm7.pack(septets, skip * 7 - len(h) * 8)
    return HELLOHELLO[:16] + "44" + HELLOHELLO[18 : 2 * 26] + f"{skip + len(septets):02X}" + ud.hex()


def test_national_language_shift_ies_are_reported() -> None:
    # 23.040 §9.2.3.24.15/16: single shift 0x24 and locking shift 0x25, language 1 (Turkish).
    # The text is read with the default tables, which we support; the IEs are reported.
    sms = decode_pdu(_deliver_with_udh("06240101250101", "Merhaba"))
    assert sms.text == "Merhaba"
    assert [ie.to_dict() for ie in sms.udh] == [
        {"iei": 0x24, "name": "national_single_shift", "data": "01", "language": 1},
        {"iei": 0x25, "name": "national_locking_shift", "data": "01", "language": 1},
    ]


def test_unknown_ies_are_kept_raw() -> None:
    # 0x0A (EMS text formatting) and 0x70 are not interpreted; they stay as raw octets,
    # and the concatenation IE after them is still found.
    sms = decode_pdu(_deliver_with_udh("0F0A0400050301700100080405A70302", "part two"))
    assert sms.text == "part two"
    assert [(ie.iei, ie.name, ie.data.hex()) for ie in sms.udh] == [
        (0x0A, "unknown", "00050301"),
        (0x70, "unknown", "00"),
        (0x08, "concat16", "05a70302"),
    ]
    assert (sms.concat.ref, sms.concat.total, sms.concat.seq, sms.concat.ref16) == (0x05A7, 3, 2, True)


def test_compressed_dcs_is_an_error() -> None:
    # 23.038 §4: bit 5 of a general data coding DCS means compressed (23.042), not supported.
    pdu = HELLOHELLO[: 2 * 18] + "20" + HELLOHELLO[2 * 19 :]
    with pytest.raises(PduError) as err:
        decode_pdu(pdu)
    assert err.value.offset == 26  # the TP-UDL octet


# --- malformed input ------------------------------------------------------------------------

_VECTORS = [
    HELLOHELLO,
    "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
    "0891683108200805F01151048181160000FF16C8329BFD66B5F320B8BC4CA7E741F7B79C4D0E01",
    "0006000B910221815716F2709021510121807090215101718000",
    "07910201956905F0040B910201014160F3000820219130521580040628062A",
    _deliver_with_udh("0F0A0400050301700100080405A70302", "part two"),
]


@pytest.mark.parametrize("pdu", _VECTORS)
def test_every_truncation_is_a_pdu_error_with_an_offset(pdu) -> None:
    data = bytes.fromhex(pdu)
    decode_pdu(data)  # whole: fine
    for cut in range(len(data)):
        with pytest.raises(PduError) as err:
            decode_pdu(data[:cut])
        assert err.value.offset is not None and 0 <= err.value.offset <= cut, cut


def test_bad_hex_names_the_character() -> None:
    with pytest.raises(PduError) as err:
        decode_pdu("0791ZZ")
    assert err.value.offset == 2 and "'Z'" in str(err.value)


def test_odd_length_hex() -> None:
    with pytest.raises(PduError) as err:
        decode_pdu(HELLOHELLO[:-1])
    assert err.value.offset == (len(HELLOHELLO) - 1) // 2 and "odd" in str(err.value)


def test_udl_overrunning_the_pdu() -> None:
    with pytest.raises(PduError) as err:
        decode_pdu(HELLOHELLO[: 2 * 26] + "0B" + HELLOHELLO[2 * 27 :])
    assert err.value.offset == 26


def test_udhl_overrunning_the_user_data() -> None:
    good = _deliver_with_udh("050003010201", "abc")
    bad = good[: 2 * 27] + "20" + good[2 * 28 :]  # UDHL 0x20 in a 10-septet user data
    with pytest.raises(PduError) as err:
        decode_pdu(bad)
    assert err.value.offset == 27


def test_ie_overrunning_the_header() -> None:
    good = _deliver_with_udh("050003010201", "abc")
    bad = good[: 2 * 29] + "09" + good[2 * 30 :]  # concat IE claims 9 octets of a 5-octet UDH
    with pytest.raises(PduError) as err:
        decode_pdu(bad)
    assert err.value.offset == 28


def test_address_length_overrunning_the_pdu() -> None:
    with pytest.raises(PduError) as err:
        decode_pdu(HELLOHELLO[:18] + "FF" + HELLOHELLO[20:])
    assert err.value.offset == 9


def test_smsc_length_overrunning_the_pdu() -> None:
    with pytest.raises(PduError) as err:
        decode_pdu("0F91")
    assert err.value.offset == 0


def test_reserved_message_type() -> None:
    with pytest.raises(PduError) as err:
        decode_pdu("0003")
    assert err.value.offset == 1
