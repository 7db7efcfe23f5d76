"""Modem transcripts for the AT protocol tests, and a player for them.

A transcript is a list of steps: what we send (`Send`, `SendPdu`, `Abort`) and
what the modem answers (`Rx`), with the events the whole conversation must
produce. The wording follows what these modems print (Huawei E173/E3372,
SIMCom SIM800/SIM7600, Quectel EC25, Wavecom).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers.at import AtProtocol, Echo, Event, Final, Garbage, Info, Prompt, Urc


@dataclass(frozen=True)
class Send:
    command: str


@dataclass(frozen=True)
class SendPdu:
    pdu: str


@dataclass(frozen=True)
class Abort:
    pass


@dataclass(frozen=True)
class Rx:
    data: bytes


Step = Send | SendPdu | Abort | Rx
Splitter = Callable[[int, bytes], Sequence[bytes]]


def whole(_index: int, data: bytes) -> Sequence[bytes]:
    return [data]


def play(script: Sequence[Step], splitter: Splitter = whole) -> tuple[list[Event], list[bytes]]:
    """Run `script` on a fresh protocol; Rx number i is fed as splitter(i, data).

    Returns the events and the bytes the protocol gave us to write.
    """
    protocol = AtProtocol()
    events: list[Event] = []
    written: list[bytes] = []
    rx_index = 0
    for step in script:
        if isinstance(step, Send):
            written.append(protocol.send(step.command))
        elif isinstance(step, SendPdu):
            written.append(protocol.send_pdu(step.pdu))
        elif isinstance(step, Abort):
            written.append(protocol.abort_prompt())
        else:
            for chunk in splitter(rx_index, step.data):
                events.extend(protocol.feed(chunk))
            rx_index += 1
    return events, written


def rx_steps(script: Sequence[Step]) -> list[bytes]:
    return [step.data for step in script if isinstance(step, Rx)]


OK = Final("OK", None, "OK")

# SMS-SUBMIT to +46708251358, "hellohello" (GSM 7-bit), no SMSC prefix given.
SUBMIT = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
# SMS-DELIVER from +31641600986, "How are you?"
DELIVER_1 = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
# SMS-DELIVER, second message in storage
DELIVER_2 = "07914477790706520404D0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B"
# SMS-STATUS-REPORT for message reference 0x41
STATUS_REPORT = "07913396050066F506410B913306254286F9810111417414408101114174154000"


TRANSCRIPTS: dict[str, tuple[list[Step], list[Event]]] = {
    "huawei_e173_init_echo_on": (
        [
            Rx(b"\r\n^BOOT:20111780,0,0,0,72\r\n\r\n^RSSI:17\r\n"),
            Send("ATZ"),
            Rx(b"ATZ\r\r\nOK\r\n"),
            Send("AT+CGMI"),
            Rx(b"AT+CGMI\r\r\nhuawei\r\n\r\nOK\r\n"),
            Send("ATI"),
            Rx(
                b"ATI\r\r\nManufacturer: huawei\r\nModel: E173\r\n\r\n^RSSI:18\r\n"
                b"Revision: 11.126.85.00.209\r\nIMEI: 351234567890123\r\n"
                b"+GCAP: +CGSM,+DS,+ES\r\n\r\nOK\r\n"
            ),
            Send("AT+CGSN"),
            Rx(b"AT+CGSN\r\r\n351234567890123\r\n\r\nOK\r\n"),
            Send("ATE0"),
            Rx(b"ATE0\r\r\nOK\r\n"),
            Send("AT+CMEE=1"),
            Rx(b"\r\nOK\r\n"),
        ],
        [
            Urc("^BOOT", "20111780,0,0,0,72", "^BOOT:20111780,0,0,0,72"),
            Urc("^RSSI", "17", "^RSSI:17"),
            Echo("ATZ"),
            OK,
            Echo("AT+CGMI"),
            Info("huawei"),
            OK,
            Echo("ATI"),
            Info("Manufacturer: huawei"),
            Info("Model: E173"),
            Urc("^RSSI", "18", "^RSSI:18"),
            Info("Revision: 11.126.85.00.209"),
            Info("IMEI: 351234567890123"),
            Info("+GCAP: +CGSM,+DS,+ES"),
            OK,
            Echo("AT+CGSN"),
            Info("351234567890123"),
            OK,
            Echo("ATE0"),
            OK,
            OK,
        ],
    ),
    "huawei_e173_idle_urcs": (
        [
            Rx(
                b"\r\n^MODE:5,4\r\n\r\n^SRVST:2\r\n\r\n^SIMST:1\r\n"
                b"\r\n^DSFLOWRPT:0000003C,00000000,00000000,0000000000000F3A,"
                b"0000000000001A2B,0003E800,0003E800\r\n"
                b"\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n\r\n^CEND:1,0,104,16\r\n"
            ),
        ],
        [
            Urc("^MODE", "5,4", "^MODE:5,4"),
            Urc("^SRVST", "2", "^SRVST:2"),
            Urc("^SIMST", "1", "^SIMST:1"),
            Urc(
                "^DSFLOWRPT",
                "0000003C,00000000,00000000,0000000000000F3A,0000000000001A2B,0003E800,0003E800",
                "^DSFLOWRPT:0000003C,00000000,00000000,0000000000000F3A,0000000000001A2B,0003E800,0003E800",
            ),
            Urc("^ORIG", "1,0", "^ORIG:1,0"),
            Urc("^CONF", "1", "^CONF:1"),
            Urc("^CONN", "1,0", "^CONN:1,0"),
            Urc("^CEND", "1,0,104,16", "^CEND:1,0,104,16"),
        ],
    ),
    "huawei_e173_cmgs_echo_on": (
        [
            Send("AT+CMGS=23"),
            Rx(b"AT+CMGS=23\r\r\n> "),
            SendPdu(SUBMIT),
            Rx(SUBMIT.encode() + b"\x1a\r\n+CMGS: 12\r\n\r\nOK\r\n"),
        ],
        [Echo("AT+CMGS=23"), Prompt(), Echo(SUBMIT), Info("+CMGS: 12"), OK],
    ),
    "huawei_unsupported_commands": (
        [
            Send("AT^CVOICE?"),
            Rx(b"\r\nCOMMAND NOT SUPPORT\r\n"),
            Send("AT+CMGF=0,1"),
            Rx(b"\r\nTOO MANY PARAMETERS\r\n"),
        ],
        [
            Final("ERROR", None, "COMMAND NOT SUPPORT"),
            Final("ERROR", None, "TOO MANY PARAMETERS"),
        ],
    ),
    "huawei_e3372_hcsq": (
        [
            Send("AT^HCSQ?"),
            Rx(b'\r\n^HCSQ:"LTE",48,39,134,26\r\n\r\nOK\r\n'),
            Send("AT+CSQ"),
            Rx(b'\r\n^HCSQ:"LTE",47,38,130,24\r\n\r\n+CSQ: 23,99\r\n\r\nOK\r\n'),
        ],
        [
            Info('^HCSQ:"LTE",48,39,134,26'),
            OK,
            Urc("^HCSQ", '"LTE",47,38,130,24', '^HCSQ:"LTE",47,38,130,24'),
            Info("+CSQ: 23,99"),
            OK,
        ],
    ),
    "sim800_boot_and_cmgs": (
        [
            Rx(b"\x00\x00\xff\xff\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"),
            Rx(b"\r\nCall Ready\r\n\r\nSMS Ready\r\n"),
            Send("AT+CMGS=23"),
            Rx(b"AT+CMGS=23\r\r\n> "),
            SendPdu(SUBMIT),
            Rx(SUBMIT.encode() + b"\x1a\r\n+CMGS: 104\r\n\r\nOK\r\n"),
            Send("AT+CMGS=23"),
            Rx(b"AT+CMGS=23\r\r\n> "),
            SendPdu(SUBMIT),
            Rx(SUBMIT.encode() + b"\x1a\r\n+CMS ERROR: 38\r\n"),
        ],
        [
            Garbage(b"\x00\x00\xff\xff"),
            Urc("RDY", "", "RDY"),
            Urc("+CFUN", "1", "+CFUN: 1"),
            Urc("+CPIN", "READY", "+CPIN: READY"),
            Urc("Call Ready", "", "Call Ready"),
            Urc("SMS Ready", "", "SMS Ready"),
            Echo("AT+CMGS=23"),
            Prompt(),
            Echo(SUBMIT),
            Info("+CMGS: 104"),
            OK,
            Echo("AT+CMGS=23"),
            Prompt(),
            Echo(SUBMIT),
            Final("CMS", 38, "38"),
        ],
    ),
    "sim7600_echo_off_cmgs": (
        [
            Rx(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"),
            Send("AT+CMGS=23"),
            Rx(b"\r\n> "),
            SendPdu(SUBMIT),
            Rx(b"\r\n+CMGS: 7\r\n\r\nOK\r\n"),
        ],
        [
            Urc("RDY", "", "RDY"),
            Urc("+CPIN", "READY", "+CPIN: READY"),
            Urc("SMS DONE", "", "SMS DONE"),
            Urc("PB DONE", "", "PB DONE"),
            Prompt(),
            Info("+CMGS: 7"),
            OK,
        ],
    ),
    "quectel_ec25_boot_and_cmgl": (
        [
            Rx(
                b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
                b"\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n"
            ),
            Send("AT+CMGL=4"),
            Rx(
                b"\r\n+CMGL: 0,1,,39\r\n" + DELIVER_1.encode() + b"\r\n"
                b'+CMTI: "SM",2\r\n'
                b"+CMGL: 1,1,,38\r\n" + DELIVER_2.encode() + b"\r\n"
                b"\r\n+CMT: ,39\r\n" + DELIVER_1.encode() + b"\r\n"
                b"+CMGL: 2,0,,39\r\n" + DELIVER_1.encode() + b"\r\n\r\nOK\r\n"
            ),
        ],
        [
            Urc("RDY", "", "RDY"),
            Urc("+CFUN", "1", "+CFUN: 1"),
            Urc("+CPIN", "READY", "+CPIN: READY"),
            Urc("+QUSIM", "1", "+QUSIM: 1"),
            Urc("+QIND", "SMS DONE", "+QIND: SMS DONE"),
            Urc("+QIND", "PB DONE", "+QIND: PB DONE"),
            Info("+CMGL: 0,1,,39"),
            Info(DELIVER_1),
            Urc("+CMTI", '"SM",2', '+CMTI: "SM",2'),
            Info("+CMGL: 1,1,,38"),
            Info(DELIVER_2),
            Urc("+CMT", ",39", "+CMT: ,39", DELIVER_1),
            Info("+CMGL: 2,0,,39"),
            Info(DELIVER_1),
            OK,
        ],
    ),
    "quectel_ec25_status_report_mid_response": (
        [
            Send("AT+CSQ"),
            Rx(b"\r\n+CDS: 25\r\n" + STATUS_REPORT.encode() + b"\r\n\r\n+CSQ: 17,99\r\n\r\nOK\r\n"),
            Rx(b'\r\n+CDSI: "SM",5\r\n'),
        ],
        [
            Urc("+CDS", "25", "+CDS: 25", STATUS_REPORT),
            Info("+CSQ: 17,99"),
            OK,
            Urc("+CDSI", '"SM",5', '+CDSI: "SM",5'),
        ],
    ),
    "wavecom_cmgr": (
        [
            Rx(b"\r\n+WIND: 4\r\n"),
            Send("AT+CMGR=1"),
            Rx(b"\r\n+CMGR: 0,,39\r\n" + DELIVER_1.encode() + b"\r\n\r\nOK\r\n"),
            Send("AT+CMGD=1"),
            Rx(b"\r\nOK\r\n"),
        ],
        [
            Urc("+WIND", "4", "+WIND: 4"),
            Info("+CMGR: 0,,39"),
            Info(DELIVER_1),
            OK,
            OK,
        ],
    ),
    "registration_read_versus_unsolicited": (
        [
            Send("AT+CREG?"),
            Rx(b'\r\n+CREG: 2,1,"1A2B","01C3D4E5",7\r\n\r\nOK\r\n'),
            Rx(b"\r\n+CREG: 1\r\n"),
            Send("AT+CREG=2"),
            Rx(b'\r\n+CREG: 1,"1A2B","01C3D4E5",7\r\nOK\r\n'),
            Send("AT+CEREG?"),
            Rx(b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n"),
            Send("AT+CSQ"),
            Rx(b"\r\n+CGREG: 5\r\n\r\n+CSQ: 31,99\r\n\r\nOK\r\n"),
        ],
        [
            Info('+CREG: 2,1,"1A2B","01C3D4E5",7'),
            OK,
            Urc("+CREG", "1", "+CREG: 1"),
            Urc("+CREG", '1,"1A2B","01C3D4E5",7', '+CREG: 1,"1A2B","01C3D4E5",7'),
            OK,
            Info("+CEREG: 0,1"),
            OK,
            Urc("+CGREG", "5", "+CGREG: 5"),
            Info("+CSQ: 31,99"),
            OK,
        ],
    ),
    "text_form_errors": (
        [
            Send("AT+CMEE=2"),
            Rx(b"\r\nOK\r\n"),
            Send("AT+CPIN?"),
            Rx(b"\r\n+CME ERROR: SIM PIN required\r\n"),
            Send("AT+CMGS=23"),
            Rx(b"\r\n+CMS ERROR: SMSC address unknown\r\n"),
            Send("AT+CMGR=99"),
            Rx(b"\r\n+CMS ERROR: invalid memory index\r\n"),
            Send("AT+QFOO"),
            Rx(b"\r\n+CME ERROR: something vendor specific\r\n"),
        ],
        [
            OK,
            Final("CME", 11, "SIM PIN required"),
            Final("CMS", 330, "SMSC address unknown"),
            Final("CMS", 321, "invalid memory index"),
            Final("CME", None, "something vendor specific"),
        ],
    ),
    "incoming_call_during_command": (
        [
            Send("AT+CSQ"),
            Rx(b'\r\nRING\r\n\r\n+CLIP: "+31612345678",145,,,,0\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n'),
            Rx(b"\r\n+CRING: VOICE\r\n\r\nNO CARRIER\r\n"),
        ],
        [
            Urc("RING", "", "RING"),
            Urc("+CLIP", '"+31612345678",145,,,,0', '+CLIP: "+31612345678",145,,,,0'),
            Info("+CSQ: 20,99"),
            OK,
            Urc("+CRING", "VOICE", "+CRING: VOICE"),
            Urc("NO CARRIER", "", "NO CARRIER"),
        ],
    ),
    "ussd_balance_over_two_lines": (
        [
            Send('AT+CUSD=1,"*101#",15'),
            Rx(b"\r\nOK\r\n"),
            Rx(b'\r\n+CUSD: 0,"Balance: 5.20 EUR\r\nValid until 01-06",15\r\n'),
        ],
        [
            OK,
            Urc(
                "+CUSD",
                '0,"Balance: 5.20 EUR\nValid until 01-06",15',
                '+CUSD: 0,"Balance: 5.20 EUR\nValid until 01-06",15',
            ),
        ],
    ),
    "cmgs_prompt_aborted": (
        [
            Send("AT+CMGS=23"),
            Rx(b"\r\n> "),
            Abort(),
            Rx(b"\r\nOK\r\n"),
        ],
        [Prompt(), OK],
    ),
    "bare_cr_and_bare_lf_endings": (
        [
            Send("AT+CSQ"),
            Rx(b"\r+CSQ: 12,99\r\rOK\r"),
            Send("AT+CGMR"),
            Rx(b"\nEC25EFAR06A06M4G\n\nOK\n"),
        ],
        [Info("+CSQ: 12,99"), OK, Info("EC25EFAR06A06M4G"), OK],
    ),
}
