"""`modemgate pdu …` as a user runs it: the installed console script, in a subprocess.

Pins the CLI contract of DESIGN.md: JSON lines out, `{"error": …}` lines in streaming
modes, exit code 2 with a one-line message on stderr for bad input.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.sms import decode_pdu

HELLOHELLO_DELIVER = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
DECODE_KEYS = {
    "type",
    "smsc",
    "number",
    "text",
    "encoding",
    "concat",
    "message_reference",
    "status",
    "timestamp",
    "discharge_time",
    "udh",
}


def _modemgate() -> str:
    beside = Path(sys.executable).parent / "modemgate"
    if beside.exists():
        return str(beside)
    found = shutil.which("modemgate")
    if found is None:
        pytest.fail("the modemgate console script is not installed (pip install -e .)")
    return found


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_modemgate(), "pdu", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_encode_prints_one_json_line_per_part() -> None:
    text = "Ünicödé? GSM-7 {with escapes} " * 10  # 320 septets: 3 parts
    result = run("encode", "--to", "+31612345678", "--ref", "42", text)
    assert result.returncode == 0, result.stderr
    parts = lines(result.stdout)
    assert len(parts) == 3
    decoded = []
    for seq, part in enumerate(parts, 1):
        assert set(part) == {"pdu", "tpdu_length"}
        assert part["pdu"].startswith("00")  # no --smsc: the SIM's SMSC
        assert part["tpdu_length"] == len(part["pdu"]) // 2 - 1
        sms = decode_pdu(part["pdu"])
        assert (sms.number, sms.concat.ref, sms.concat.total, sms.concat.seq) == ("+31612345678", 42, 3, seq)
        assert sms.status_report_request
        decoded.append(sms.text)
    assert "".join(decoded) == text


def test_encode_options_smsc_no_report_encoding() -> None:
    result = run("encode", "--to", "0612345678", "--smsc", "+31653131313", "--no-report", "--encoding", "ucs2", "hi")
    assert result.returncode == 0, result.stderr
    (part,) = lines(result.stdout)
    assert part["pdu"].startswith("07911356131313F3")
    assert part["tpdu_length"] == len(part["pdu"]) // 2 - 8
    sms = decode_pdu(part["pdu"])
    assert (sms.smsc, sms.number, sms.text, sms.encoding) == ("+31653131313", "0612345678", "hi", "ucs2")
    assert not sms.status_report_request


def test_encode_json_lines_reads_stdin() -> None:
    requests = [
        {"to": "+31612345678", "text": "hello"},
        {"to": "+447700900123", "text": "ж" * 100, "ref": 7, "smsc": "+447785016005"},
        {"to": "+15125551234", "text": "plain", "encoding": "ucs2"},
    ]
    result = run("encode", "--json-lines", stdin="".join(json.dumps(r) + "\n" for r in requests))
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert len(out) == len(requests)
    for req, obj in zip(requests, out, strict=True):
        assert set(obj) == {"parts"}
        texts = []
        for part in obj["parts"]:
            assert set(part) == {"pdu", "tpdu_length"}
            sms = decode_pdu(part["pdu"])
            assert sms.number == req["to"] and sms.smsc == req.get("smsc")
            if "ref" in req:
                assert sms.concat.ref == req["ref"]
            texts.append(sms.text)
        assert "".join(texts) == req["text"]
    assert len(out[1]["parts"]) == 2
    assert decode_pdu(out[2]["parts"][0]["pdu"]).encoding == "ucs2"


def test_encode_json_lines_reports_bad_lines_and_goes_on() -> None:
    stdin = '{"to": "+3161", "text": "ok"}\nnot json\n{"to": "abc", "text": "x"}\n{"to": "+3162", "text": "ok too"}\n'
    result = run("encode", "--json-lines", stdin=stdin)
    assert result.returncode == 2
    out = lines(result.stdout)
    assert len(out) == 4
    assert "parts" in out[0] and "parts" in out[3]
    assert set(out[1]) == {"error"} and set(out[2]) == {"error"}
    assert "abc" in out[2]["error"]


def test_decode_argument() -> None:
    result = run("decode", HELLOHELLO_DELIVER)
    assert result.returncode == 0, result.stderr
    (obj,) = lines(result.stdout)
    assert set(obj) >= DECODE_KEYS
    assert obj["type"] == "SMS-DELIVER"
    assert obj["smsc"] == "+27381000015"
    assert obj["number"] == "27838890001"
    assert obj["text"] == "hellohello"
    assert obj["encoding"] == "gsm7"
    assert obj["concat"] is None
    assert obj["timestamp"] == "1999-03-29T15:16:59+02:00"
    assert obj["udh"] == []


def test_decode_status_report_and_concatenated_part() -> None:
    report = "0006000B910221815716F2709021510121807090215101718000"
    (obj,) = lines(run("decode", report).stdout)
    assert obj["type"] == "SMS-STATUS-REPORT"
    assert (obj["message_reference"], obj["status"]) == (0, 0)
    assert obj["timestamp"] == "2007-09-12T15:10:12+02:00"
    assert obj["discharge_time"] == "2007-09-12T15:10:17+02:00"
    part = lines(run("encode", "--to", "123", "--ref", "9", "x" * 200).stdout)[1]["pdu"]
    (obj,) = lines(run("decode", part).stdout)
    assert obj["concat"] == {"ref": 9, "total": 2, "seq": 2}
    assert obj["udh"][0]["name"] == "concat8"


def test_decode_stdin_one_line_per_input_with_error_lines() -> None:
    stdin = f"{HELLOHELLO_DELIVER}\nnot hex\n{HELLOHELLO_DELIVER[:-4]}\n{HELLOHELLO_DELIVER.lower()}\n"
    result = run("decode", stdin=stdin)
    assert result.returncode == 2
    out = lines(result.stdout)
    assert len(out) == 4
    assert out[0]["text"] == out[3]["text"] == "hellohello"
    assert set(out[1]) == {"error"} and "hexadecimal" in out[1]["error"]
    assert set(out[2]) == {"error"} and "user data length" in out[2]["error"]


def test_decode_stdin_all_good_exits_zero() -> None:
    result = run("decode", stdin=HELLOHELLO_DELIVER + "\n")
    assert result.returncode == 0 and len(lines(result.stdout)) == 1


def test_estimate() -> None:
    result = run("estimate", "a" * 161)
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == [{"encoding": "gsm7", "segments": 2, "characters": 161, "per_segment": 153}]
    (obj,) = lines(run("estimate", "Привет 😀").stdout)
    assert obj == {"encoding": "ucs2", "segments": 1, "characters": 8, "per_segment": 70}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("encode", "--to", "+31 6 abc", "hi"), "phone number"),
        (("encode", "--to", "+31612345678", "--encoding", "gsm7", "smile 😀"), "GSM 7-bit"),
        (("encode", "--to", "+31612345678", "a" * (153 * 255 + 1)), "255"),
        (("encode", "--to", "+31612345678", "--ref", "256", "a" * 200), "reference"),
        (("decode", "07917283ZZ"), "hexadecimal"),
        (("decode", "0791728"), "odd"),
        (("estimate", "--encoding", "gsm7", "€ ok, 😀 not"), "GSM 7-bit"),
    ],
)
def test_bad_input_exits_2_with_one_line_on_stderr(args, needle) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    err = result.stderr.strip()
    assert "\n" not in err and err.startswith("error: ") and needle in err


@pytest.mark.parametrize("validity", ["inf", "nan", "1e12w", "0m", "-5h", "64w", "soon"])
def test_unusable_validity_exits_2_with_one_line(validity) -> None:
    result = run("encode", "--to", "+31612345678", "--validity", validity, "hi")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "validity" in result.stderr


def test_unusable_validity_in_json_lines_is_an_error_line_and_the_rest_still_encodes() -> None:
    lines = '{"to": "+31612345678", "text": "a", "validity": "inf"}\n{"to": "+31612345678", "text": "b"}\n'
    result = run("encode", "--json-lines", stdin=lines)
    assert result.returncode == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert "validity" in out[0]["error"]
    assert len(out[1]["parts"]) == 1


TURKISH = (
    "Sayın müşterimiz, siparişiniz kargoya verildi. Teslimat için kuryemiz yarın sizi arayacak; "
    "lütfen telefonunuzun açık olduğundan emin olun. İyi günler dileriz!"
)


def test_estimate_with_languages_uses_the_turkish_table() -> None:
    assert lines(run("estimate", TURKISH).stdout)[0]["segments"] == 3
    (obj,) = lines(run("estimate", "--languages", "tr,es", TURKISH).stdout)
    assert obj == {"encoding": "gsm7", "segments": 2, "characters": 158, "per_segment": 149, "single": "tr"}


def test_estimate_explain_names_what_forces_ucs2() -> None:
    (obj,) = lines(run("estimate", "--explain", "Don’t miss it — today only…" * 3).stdout)
    assert obj["encoding"] == "ucs2"
    assert {f["character"] for f in obj["forcing_ucs2"]} == {"’", "—", "…"}
    (option,) = obj["options"]
    assert option["option"] == "transliterate" and option["segments_before"] == 2
    assert option["segments_after"] == 1 and option["enabled"] is False


def test_encode_with_languages_and_transliterate_round_trips_through_decode() -> None:
    # Long enough that stripping the Turkish letters too saves nothing over the Turkish table:
    # only the quotes are replaced.
    text = TURKISH.replace("Teslimat", "“Teslimat”") + " Teşekkürler."
    parts = lines(run("encode", "--to", "+905551112233", "--languages", "tr", "--transliterate", text).stdout)
    decoded = [lines(run("decode", p["pdu"]).stdout)[0] for p in parts]
    assert len(parts) == 2
    assert "".join(d["text"] for d in decoded) == text.replace("“", '"').replace("”", '"')
    assert {ie["name"] for ie in decoded[0]["udh"]} & {"national_single_shift", "national_locking_shift"}


def test_unknown_language_is_a_one_line_error() -> None:
    result = run("estimate", "--languages", "xx", "hi")
    assert result.returncode == 2 and "no national shift table for 'xx'" in result.stderr
