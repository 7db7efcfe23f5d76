"""`modemgate pdu …`: encode, decode and estimate SMS PDUs from the shell.

Output is JSON, one object per line. Bad input is a one-line error and exit code 2;
in the stdin (streaming) modes each bad line gives an `{"error": …}` line in its place
and the exit code is 2 once all lines are done.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import timedelta
from typing import Any

import typer

from drivers import PduError
from drivers.sms import decode_pdu, encode_submit, estimate, explain, plan, to_dict

app = typer.Typer(help="Encode, decode and estimate SMS PDUs.", no_args_is_help=True)

_ENCODINGS = ("auto", "gsm7", "ucs2")


def _emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _parse_validity(value: str) -> timedelta:
    """`90m`, `12h`, `2d`, `1w` (a bare number is minutes)."""
    units = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
    raw = value.strip().lower()
    scale = units.get(raw[-1:])
    number = raw[:-1] if scale else raw
    try:
        amount = float(number)
    except ValueError:
        amount = math.nan
    seconds = amount * (scale or 60)
    # TP-VP (relative) reaches 63 weeks at most; beyond that, or not a number, is an error.
    if not math.isfinite(seconds) or not 0 < seconds <= 63 * 604800:
        raise PduError(f"validity {value!r} must be like 90m, 12h, 2d or 1w, at most 63w")
    return timedelta(seconds=seconds)


def _encode_one(
    to: str,
    text: str,
    *,
    smsc: str | None,
    ref: int | None,
    ref16: bool,
    report: bool,
    encoding: str,
    validity: str | None,
    message_class: int | None,
    languages: list[str] | tuple[str, ...] = (),
    transliterate: bool = False,
) -> list[dict[str, object]]:
    if encoding not in _ENCODINGS:
        raise PduError(f"encoding must be one of {', '.join(_ENCODINGS)}, not {encoding!r}")
    if transliterate and encoding != "ucs2":
        text = plan(text, languages=languages, transliterate=True, ref16=ref16).text
    parts = encode_submit(
        to,
        text,
        smsc=smsc,
        encoding=encoding,  # type: ignore[arg-type]
        ref=ref,
        ref16=ref16,
        status_report=report,
        validity=_parse_validity(validity) if validity else None,
        message_class=message_class,
        languages=languages,
    )
    return [p.to_dict() for p in parts]


def _languages(value: str | None) -> list[str]:
    """`tr,es,pt` -> ["tr", "es", "pt"]."""
    return [code.strip() for code in (value or "").split(",") if code.strip()]


_LANGUAGES_HELP = "National shift tables the recipient's handset reads, e.g. tr,es,pt (default: none)."
_TRANSLITERATE_HELP = "Replace typographic quotes, dashes, … and look-alike letters when that saves parts."


@app.command()
def encode(
    text: str | None = typer.Argument(None, help="Message text."),
    to: str | None = typer.Option(None, "--to", help="Recipient, +international or national."),
    smsc: str | None = typer.Option(None, "--smsc", help="SMSC number; default: the SIM's."),
    ref: int | None = typer.Option(None, "--ref", help="Concatenation reference (default random)."),
    ref16: bool = typer.Option(False, "--ref16", help="Use a 16-bit concatenation reference."),
    no_report: bool = typer.Option(False, "--no-report", help="Do not request a status report."),
    encoding: str = typer.Option("auto", "--encoding", help="auto, gsm7 or ucs2."),
    validity: str | None = typer.Option(None, "--validity", help="Relative validity: 90m, 12h, 2d, 1w."),
    message_class: int | None = typer.Option(None, "--class", help="Message class 0–3."),
    languages: str | None = typer.Option(None, "--languages", help=_LANGUAGES_HELP),
    transliterate: bool = typer.Option(False, "--transliterate", help=_TRANSLITERATE_HELP),
    json_lines: bool = typer.Option(
        False, "--json-lines", help='Read {"to","text","smsc"?,"ref"?,"encoding"?} lines from stdin.'
    ),
) -> None:
    """Build SMS-SUBMIT PDUs: one JSON line {"pdu", "tpdu_length"} per part."""
    if json_lines:
        failed = False
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if (
                    not isinstance(req, dict)
                    or not isinstance(req.get("to"), str)
                    or not isinstance(req.get("text"), str)
                ):
                    raise PduError('each line must be an object with string "to" and "text"')
                parts = _encode_one(
                    req["to"],
                    req["text"],
                    smsc=req.get("smsc"),
                    ref=req.get("ref"),
                    ref16=bool(req.get("ref16", False)),
                    report=not req.get("no_report", False),
                    encoding=req.get("encoding", "auto"),
                    validity=req.get("validity"),
                    message_class=req.get("class"),
                    languages=_languages(languages),
                    transliterate=transliterate,
                )
                _emit({"parts": parts})
            except (PduError, ValueError, TypeError) as exc:
                failed = True
                _emit({"error": str(exc)})
        if failed:
            raise typer.Exit(code=2)
        return
    if to is None or text is None:
        _fail("give --to NUMBER and TEXT, or --json-lines")
    try:
        parts = _encode_one(
            to,  # type: ignore[arg-type]
            text,  # type: ignore[arg-type]
            smsc=smsc,
            ref=ref,
            ref16=ref16,
            report=not no_report,
            encoding=encoding,
            validity=validity,
            message_class=message_class,
            languages=_languages(languages),
            transliterate=transliterate,
        )
    except PduError as exc:
        _fail(str(exc))
    for part in parts:
        _emit(part)


@app.command()
def decode(
    pdu: str | None = typer.Argument(None, help="PDU in hex, SMSC prefix included; omit to read stdin."),
    no_smsc: bool = typer.Option(False, "--no-smsc", help="The PDU has no SMSC prefix (bare TPDU)."),
) -> None:
    """Decode SMS-DELIVER / SMS-SUBMIT / SMS-STATUS-REPORT PDUs to JSON."""
    if pdu is not None:
        try:
            _emit(to_dict(decode_pdu(pdu, smsc=not no_smsc)))
        except PduError as exc:
            _fail(str(exc))
        return
    failed = False
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            _emit(to_dict(decode_pdu(line, smsc=not no_smsc)))
        except PduError as exc:
            failed = True
            _emit({"error": str(exc)})
    if failed:
        raise typer.Exit(code=2)


@app.command("estimate")
def estimate_cmd(
    text: str = typer.Argument(..., help="Message text."),
    encoding: str = typer.Option("auto", "--encoding", help="auto, gsm7 or ucs2."),
    ref16: bool = typer.Option(False, "--ref16", help="Assume a 16-bit concatenation reference."),
    languages: str | None = typer.Option(None, "--languages", help=_LANGUAGES_HELP),
    transliterate: bool = typer.Option(False, "--transliterate", help=_TRANSLITERATE_HELP),
    explain_: bool = typer.Option(
        False,
        "--explain",
        help="Name the characters that force UCS-2 and the parts transliteration or a national table would save.",
    ),
) -> None:
    """How many SMS parts a text takes: {"encoding","segments","characters","per_segment"}.

    With --explain: {"encoding","segments","characters","national_tables","transliterated",
    "forcing_ucs2","options"} instead."""
    try:
        if encoding not in _ENCODINGS:
            raise PduError(f"encoding must be one of {', '.join(_ENCODINGS)}, not {encoding!r}")
        codes = _languages(languages)
        result: Any
        if explain_:
            result = explain(text, languages=codes, transliterate=transliterate, ref16=ref16)
        else:
            if transliterate and encoding != "ucs2":
                text = plan(text, languages=codes, transliterate=True, ref16=ref16).text
            result = estimate(text, encoding, ref16=ref16, languages=codes)  # type: ignore[arg-type]
    except PduError as exc:
        _fail(str(exc))
    _emit(result.to_dict())
