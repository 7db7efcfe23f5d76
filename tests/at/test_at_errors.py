"""The CMS/CME tables and the classification of errors into actions."""

from __future__ import annotations

import pytest

from drivers import (
    AtProtocolError,
    CmeError,
    CmsError,
    CommandError,
    ConfigError,
    ModemGone,
    ModemTimeout,
    PduError,
)
from drivers.at import (
    CME_ERRORS,
    CMS_ERRORS,
    Action,
    classify,
    cme_action,
    cme_code_from_text,
    cms_action,
    cms_code_from_text,
    describe_cme,
    describe_cms,
    is_vague,
)


@pytest.mark.parametrize("code", sorted(CMS_ERRORS))
def test_every_cms_code_has_action_and_description(code: int) -> None:
    assert isinstance(cms_action(code), Action)
    assert describe_cms(code).strip() and describe_cms(code) == CMS_ERRORS[code].description


@pytest.mark.parametrize("code", sorted(CME_ERRORS))
def test_every_cme_code_has_action_and_description(code: int) -> None:
    assert isinstance(cme_action(code), Action)
    assert describe_cme(code).strip() and describe_cme(code) == CME_ERRORS[code].description


@pytest.mark.parametrize("code", sorted(CMS_ERRORS))
def test_every_cms_description_reads_back_to_its_code(code: int) -> None:
    found = cms_code_from_text(describe_cms(code))
    assert found is not None and CMS_ERRORS[found].description.lower() == describe_cms(code).lower()


@pytest.mark.parametrize("code", sorted(CME_ERRORS))
def test_every_cme_description_reads_back_to_its_code(code: int) -> None:
    found = cme_code_from_text(describe_cme(code))
    assert found is not None and CME_ERRORS[found].description.lower() == describe_cme(code).lower()


def test_tables_cover_the_spec_ranges() -> None:
    rp_causes = {1, 8, 10, 21, 27, 28, 29, 30, 38, 41, 42, 47, 50, 69, 81, 95, 96, 97, 98, 99, 111, 127}
    assert rp_causes <= set(CMS_ERRORS)
    assert {128, 129, 130, 143, 144, 145, 159, 160, 161, 175, 176, 255} <= set(CMS_ERRORS)
    assert set(range(192, 200)) | set(range(208, 214)) <= set(CMS_ERRORS)
    assert {300, 301, 302, 303, 304, 305, 320, 321, 322, 330, 331, 332, 340, 500} <= set(CMS_ERRORS)
    assert set(range(310, 319)) <= set(CMS_ERRORS)
    assert set(range(0, 8)) | set(range(10, 19)) | set(range(20, 28)) | {30, 31, 32} <= set(CME_ERRORS)
    assert set(range(40, 51)) | {100, 103, 106, 107, 111, 112, 113, 114, 115} <= set(CME_ERRORS)
    assert {132, 133, 134, 148, 149, 150} | set(range(257, 265)) <= set(CME_ERRORS)


@pytest.mark.parametrize(
    ("code", "description", "action"),
    [
        (500, "Unknown error", Action.RETRY_SAME),
        (330, "SMSC address unknown", Action.RETRY_OTHER_MODEM),
        (331, "No network service", Action.RETRY_OTHER_MODEM),
        (332, "Network timeout", Action.RETRY_SAME),
        (38, "Network out of order", Action.RETRY_OTHER_MODEM),
        (41, "Temporary failure", Action.RETRY_SAME),
        (42, "Congestion", Action.RETRY_SAME),
        (1, "Unassigned (unallocated) number", Action.PERMANENT),
        (8, "Operator determined barring", Action.RETRY_OTHER_MODEM),
        (30, "Unknown subscriber", Action.PERMANENT),
        (50, "Requested facility not subscribed", Action.RETRY_OTHER_MODEM),
        (176, "TPDU not supported", Action.PERMANENT),
        (192, "SC busy", Action.RETRY_SAME),
        (195, "Invalid SME address", Action.PERMANENT),
        (197, "SM Rejected-Duplicate SM", Action.PERMANENT),
        (300, "ME failure", Action.MODEM_FAULT),
        (304, "Invalid PDU mode parameter", Action.PERMANENT),
        (310, "(U)SIM not inserted", Action.MODEM_FAULT),
        (311, "(U)SIM PIN required", Action.MODEM_FAULT),
        (313, "(U)SIM failure", Action.RETRY_OTHER_MODEM),
        (320, "Memory failure", Action.MODEM_FAULT),
    ],
)
def test_key_cms_codes(code: int, description: str, action: Action) -> None:
    assert describe_cms(code) == description
    assert classify(CmsError(code)) is action


@pytest.mark.parametrize(
    ("code", "description", "action"),
    [
        (0, "Phone failure", Action.MODEM_FAULT),
        (10, "SIM not inserted", Action.MODEM_FAULT),
        (11, "SIM PIN required", Action.MODEM_FAULT),
        (12, "SIM PUK required", Action.MODEM_FAULT),
        (13, "SIM failure", Action.RETRY_OTHER_MODEM),
        (14, "SIM busy", Action.RETRY_SAME),
        (23, "Memory failure", Action.MODEM_FAULT),
        (24, "Text string too long", Action.PERMANENT),
        (30, "No network service", Action.RETRY_OTHER_MODEM),
        (31, "Network timeout", Action.RETRY_SAME),
        (100, "Unknown", Action.RETRY_SAME),
        (258, "Retry operation", Action.RETRY_SAME),
    ],
)
def test_key_cme_codes(code: int, description: str, action: Action) -> None:
    assert describe_cme(code) == description
    assert classify(CmeError(code)) is action


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SIM PIN required", 11),
        ("sim pin required", 11),
        ("SIM PIN REQUIRED.", 11),
        ("PH_SIM PIN required", 5),
        ("SIM not inserted", 10),
        ("unknown error", 100),
        ("Unknown", 100),
        ("no network service", 30),
        ("Network not allowed, emergency calls only", 32),
        ("network personalization PIN required", 40),
        ("SIM not ready", None),
    ],
)
def test_cme_text_form_lookup(text: str, code: int | None) -> None:
    assert cme_code_from_text(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Unknown error", 500),
        ("unknown error", 500),
        ("SMSC address unknown", 330),
        ("SIM not inserted", 310),
        ("(U)SIM PIN required", 311),
        ("invalid PDU mode parameter", 304),
        ("Network timeout", 332),
        ("Unassigned number", 1),
        ("something else", None),
    ],
)
def test_cms_text_form_lookup(text: str, code: int | None) -> None:
    assert cms_code_from_text(text) == code


def test_classify_uses_text_when_code_missing() -> None:
    assert classify(CmeError(None, "SIM PIN required")) is Action.MODEM_FAULT
    assert classify(CmsError(None, "Network timeout")) is Action.RETRY_SAME


def test_unknown_error_500_is_retried_first_and_vague() -> None:
    assert classify(CmsError(500)) is Action.RETRY_SAME
    assert is_vague(CmsError(500)) and is_vague(CmeError(100))


def test_plain_error_is_retried_first_and_vague() -> None:
    assert classify(CommandError("ERROR")) is Action.RETRY_SAME
    assert is_vague(CommandError("ERROR"))
    assert is_vague(CmsError(None, "something no table knows"))


def test_specific_codes_are_not_vague() -> None:
    assert classify(CmsError(332)) is Action.RETRY_SAME and not is_vague(CmsError(332))
    assert classify(CmsError(1)) is Action.PERMANENT and not is_vague(CmsError(1))
    assert not is_vague(CmeError(None, "SIM PIN required"))
    assert not is_vague(ModemTimeout("no answer"))


def test_manufacturer_cms_codes_retry_same_first() -> None:
    assert describe_cms(532) == "Manufacturer-specific error 532"
    assert cms_action(532) is Action.RETRY_SAME
    assert classify(CmsError(532)) is Action.RETRY_SAME
    assert is_vague(CmsError(532))


def test_unlisted_standard_cms_codes_have_defaults() -> None:
    assert cms_action(2) is Action.RETRY_SAME  # like 41 temporary failure
    assert cms_action(0xE0) is Action.RETRY_SAME  # application-specific TP-FCS, like 255
    assert cms_action(399) is Action.MODEM_FAULT  # ME/TA range, like 300
    assert describe_cms(2) == "Unknown error 2"


def test_unlisted_cme_codes_retry_same() -> None:
    assert cme_action(9999) is Action.RETRY_SAME
    assert describe_cme(9999) == "Manufacturer-specific error 9999"
    assert describe_cme(99) == "Unknown error 99"


@pytest.mark.parametrize("error", [ModemTimeout("no answer"), ModemGone("unplugged"), AtProtocolError("junk")])
def test_timeout_gone_and_protocol_errors_are_modem_faults(error: Exception) -> None:
    assert classify(error) is Action.MODEM_FAULT  # type: ignore[arg-type]


def test_pdu_error_is_permanent() -> None:
    assert classify(PduError("text too long")) is Action.PERMANENT


def test_classify_rejects_what_is_not_a_send_error() -> None:
    with pytest.raises(TypeError):
        classify(ConfigError("bad"))


def test_action_values_are_stable_strings() -> None:
    values = [action.value for action in Action]
    assert values == ["retry_same", "retry_other_modem", "permanent", "modem_fault"]
