"""Message commands of 3GPP TS 27.005: service (AT+CSMS), memories (AT+CPMS), routing
(AT+CNMI, AT+CNMA), sending (AT+CMGS, AT+CMSS), writing (AT+CMGW), reading and deleting
(AT+CMGL, AT+CMGR, AT+CMGD) and the SMSC address (AT+CSCA)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drivers._exceptions import PduError
from drivers.simulator.framing import CommandFailed, Form, Prompt, int_arg, other_form
from drivers.simulator.sim import CMS_SIM_PIN_REQUIRED
from drivers.simulator.storage import STAT_NAMES
from drivers.simulator.textmode import (
    from_te_string,
    pdu_listing,
    te_string,
    text_listing,
    text_mode_submit,
)
from drivers.sms import decode_pdu
from drivers.sms.pdu import SmsSubmit

if TYPE_CHECKING:
    from drivers.simulator.modem import SimulatedModem

__all__ = ["csms", "cpms", "cnmi", "cmgs", "cmgw", "cmss", "cmgl", "cmgr", "cmgd", "csca", "cnma"]

# 27.005 §3.2.5 codes these commands answer with.
CMS_OP_NOT_ALLOWED = 302
CMS_OP_NOT_SUPPORTED = 303
CMS_INVALID_PDU_PARAM = 304
CMS_INVALID_TEXT_PARAM = 305
CMS_INVALID_INDEX = 321
CMS_MEMORY_FULL = 322
CMS_SMSC_UNKNOWN = 330
CMS_NO_NETWORK = 331
CMS_NO_CNMA_EXPECTED = 340

# Memories of AT+CPMS: read and delete, write and send, receive.
_READ, _WRITE = 0, 1
_STAT_BY_NAME = {v: k for k, v in STAT_NAMES.items()}


def csms(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form != "set":
        return other_form(form, read=[f"+CSMS: {m.csms},1,1,1"], test=["+CSMS: (0,1)"])
    m.csms = int_arg(args[0], 0, 1)
    return ["+CSMS: 1,1,1"]


def cpms(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    count = m.profile.cpms_memories
    if form == "test":
        if m.profile.cpms_test is not None:
            return [m.profile.cpms_test]
        return ["+CPMS: " + ",".join(['("SM","ME")'] * count)]
    m.sim.require(cms=True)
    stores, chosen_now = m.sms.stores, m.sms.cpms
    if form == "read":
        parts = []
        for name in chosen_now[:count]:
            st = stores[name]
            parts.append(f'"{name}",{st.used},{st.capacity}')
        return ["+CPMS: " + ",".join(parts)]
    if form != "set":
        raise CommandFailed("ERROR")
    chosen = [a.upper() for a in args if a]
    if len(args) > count:
        raise CommandFailed("ERROR")  # more memories than the model has uses for
    if not chosen or len(chosen) > 3 or any(c not in stores for c in chosen):
        raise CommandFailed("CMS", CMS_OP_NOT_SUPPORTED)
    for i, name in enumerate(chosen):
        chosen_now[i] = name
    return ["+CPMS: " + ",".join(f"{stores[n].used},{stores[n].capacity}" for n in chosen_now[:count])]


def cnmi(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form != "set":
        read = "+CNMI: " + ",".join(str(v) for v in m.s.cnmi)
        test = "+CNMI: " + ",".join(_choices(c) for c in m.profile.cnmi_choices)
        return other_form(form, read=[read], test=[test])
    allowed = m.profile.cnmi_choices
    values = list(m.s.cnmi)
    for i, raw in enumerate(args[:5]):
        if raw == "":
            continue
        try:
            v = int(raw)
        except ValueError:
            raise CommandFailed("CMS", CMS_OP_NOT_SUPPORTED) from None
        if v not in allowed[i]:
            raise CommandFailed("CMS", m.profile.cnmi_refusal)
        values[i] = v
    if len(args) > 5:
        raise CommandFailed("CMS", CMS_OP_NOT_SUPPORTED)
    m.s.cnmi = values
    m.sms.routing_set(values[0], values[4])
    return []


def cnma(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "test":
        return ["+CNMA: (0-2)"]
    if m.sms.awaiting_cnma is None:
        raise CommandFailed("CMS", CMS_NO_CNMA_EXPECTED)
    m.sms.acknowledged()
    return []


def cmgs(m: SimulatedModem, form: Form, args: list[str]) -> list[str] | Prompt:
    if form != "set":
        return other_form(form, test=[])
    m.sim.require(cms=True)
    arg: Any
    if m.s.cmgf == 1:
        toda = int(args[1]) if len(args) > 1 and args[1].isdigit() else 129
        arg = (args[0], toda)
    else:
        try:
            arg = int(args[0])
        except ValueError:
            raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM) from None
        if not 7 <= arg <= 164:
            raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM)
    return Prompt(lambda body: _finish_cmgs(m, arg, body))


def cmgw(m: SimulatedModem, form: Form, args: list[str]) -> list[str] | Prompt:
    if form == "test":
        return []
    m.sim.require(cms=True)
    arg: Any
    if m.s.cmgf == 1:
        toda = int(args[1]) if len(args) > 1 and args[1].isdigit() else 129
        arg = (args[0] if args else "", toda)
    else:
        if form != "set":
            raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM)
        try:
            arg = int(args[0])
        except ValueError:
            raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM) from None
    return Prompt(lambda body: _finish_cmgw(m, arg, body))


def cmss(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form != "set":
        return other_form(form, test=[])
    m.sim.require(cms=True)
    store = m.sms.store(_WRITE)
    index = int_arg(args[0], 0, 65535)
    stored = store.get(index)
    if stored is None:
        raise CommandFailed("CMS", CMS_INVALID_INDEX)
    sms = decode_pdu(stored.pdu)
    if not isinstance(sms, SmsSubmit):
        raise CommandFailed("CMS", CMS_OP_NOT_ALLOWED)
    _check_can_send(m, sms)
    stored.stat = 3
    mr = m.next_mr()
    m.network.submit(m, sms, mr, report=m.faults.report, report_delay=m.faults.report_delay)
    return [f"+CMSS: {mr}"]


def cmgl(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "test":
        return ['+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")'] if m.s.cmgf else ["+CMGL: (0-4)"]
    m.sim.require(cms=True)
    raw = args[0] if form == "set" and args and args[0] != "" else ("0" if m.s.cmgf == 0 else "REC UNREAD")
    if m.s.cmgf == 1:
        stat = _STAT_BY_NAME.get(raw.upper())
        if stat is None:
            raise CommandFailed("CMS", CMS_INVALID_TEXT_PARAM)
    else:
        if not raw.isdigit():
            raise CommandFailed("CMS", CMS_OP_NOT_ALLOWED)  # a text-mode "ALL" in PDU mode
        if int(raw) > 4:
            raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM)
        stat = int(raw)
    lines: list[str] = []
    for stored in m.sms.store(_READ).list(stat):
        if m.s.cmgf == 1:
            lines += text_listing("+CMGL", stored, True, m.s.cscs)
        else:
            lines += pdu_listing("+CMGL", stored, True)
        if stored.stat == 0:
            stored.stat = 1
    return lines


def cmgr(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form != "set":
        return other_form(form, test=[])
    m.sim.require(cms=True)
    store = m.sms.store(_READ)
    try:
        index = int(args[0])
    except ValueError:
        raise CommandFailed("CMS", CMS_INVALID_INDEX) from None
    if not store.valid_index(index):
        raise CommandFailed("CMS", CMS_INVALID_INDEX)
    stored = store.get(index)
    if stored is None:
        return []  # empty slot: OK with nothing, as SIMCom and Huawei answer
    lines = text_listing("+CMGR", stored, False, m.s.cscs) if m.s.cmgf == 1 else pdu_listing("+CMGR", stored, False)
    if stored.stat == 0:
        stored.stat = 1
    return lines


def cmgd(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form != "set":
        indices = ",".join(str(s.index) for s in m.sms.store(_READ).list(4))
        return other_form(form, test=[f"+CMGD: ({indices}),(0-4)"])
    m.sim.require(cms=True)
    store = m.sms.store(_READ)
    try:
        index = int(args[0]) if args[0] else 0
        flag = int(args[1]) if len(args) > 1 and args[1] else 0
    except ValueError:
        raise CommandFailed("CMS", CMS_INVALID_INDEX) from None
    if not 0 <= flag <= 4:
        raise CommandFailed("CMS", CMS_OP_NOT_SUPPORTED)
    if flag:
        store.delete_by_flag(flag)
    elif not store.valid_index(index):
        raise CommandFailed("CMS", CMS_INVALID_INDEX)
    else:
        store.delete(index)
    m.network.retry_undelivered(m.modem_id)
    return []


def csca(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "test":
        return []
    m.sim.require(cms=True)
    if form == "read":
        toa = 145 if m.csca.startswith("+") else 129
        return [f'+CSCA: "{te_string(m.s.cscs, m.csca)}",{toa}']
    if form == "set":
        number = from_te_string(m.s.cscs, args[0])
        if len(args) > 1 and args[1] == "145" and not number.startswith("+"):
            number = "+" + number
        m.csca = number
        return []
    raise CommandFailed("ERROR")


# --- after the prompt ---------------------------------------------------------------------


def _finish_cmgs(m: SimulatedModem, arg: Any, body: str) -> None:
    try:
        sms, _ = _parse_submit(m, arg, body)
        _check_can_send(m, sms)
    except CommandFailed as err:
        m.answer_error([], err)
        return
    mr = m.next_mr()
    m.network.submit(m, sms, mr, report=m.faults.report, report_delay=m.faults.report_delay)
    info = [[f"+CMGS: {mr}"]]
    if m.faults.submit_delay > 0:
        m.later(m.faults.submit_delay, lambda: m.answer_ok(info))
    else:
        m.answer_ok(info)


def _finish_cmgw(m: SimulatedModem, arg: Any, body: str) -> None:
    try:
        sms, _ = _parse_submit(m, arg, body)
        if m.sim.locked:
            raise CommandFailed("CMS", CMS_SIM_PIN_REQUIRED)
    except CommandFailed as err:
        m.answer_error([], err)
        return
    if m.s.cmgf == 1:
        toda = 145 if sms.number.startswith("+") else 129
        pdu = text_mode_submit(sms.number, toda, sms.text, m.s.csmp[0])[0].pdu
    else:
        pdu = body.strip().upper()
    index = m.sms.store(_WRITE).add(pdu, 2)
    if index is None:
        m.answer_error([], CommandFailed("CMS", CMS_MEMORY_FULL))
        return
    m.answer_ok([[f"+CMGW: {index}"]])


def _check_can_send(m: SimulatedModem, sms: SmsSubmit) -> None:
    if m.sim.locked:
        raise CommandFailed("CMS", CMS_SIM_PIN_REQUIRED)
    if not m.registered:
        raise CommandFailed("CMS", CMS_NO_NETWORK)
    if not (sms.smsc or m.csca):
        raise CommandFailed("CMS", CMS_SMSC_UNKNOWN)
    injected = m.faults.error_for_send()
    if injected:
        raise CommandFailed(*injected)


def _parse_submit(m: SimulatedModem, arg: Any, body: str) -> tuple[SmsSubmit, int]:
    if m.s.cmgf == 1:
        number, toda = arg
        try:
            part = text_mode_submit(number, toda, body, m.s.csmp[0])
        except PduError:
            raise CommandFailed("CMS", CMS_INVALID_TEXT_PARAM) from None
        if len(part) != 1:
            raise CommandFailed("CMS", CMS_INVALID_TEXT_PARAM)
        sms = decode_pdu(part[0].pdu)
        return sms, part[0].tpdu_length  # type: ignore[return-value]
    length: int = arg
    hexpdu = body.strip()
    try:
        raw = bytes.fromhex(hexpdu)
        smsc_len = raw[0] if raw else 0
        if len(raw) - 1 - smsc_len != length:
            raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM)
        sms = decode_pdu(raw)
    except (ValueError, PduError):
        raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM) from None
    if not isinstance(sms, SmsSubmit):
        raise CommandFailed("CMS", CMS_INVALID_PDU_PARAM)
    return sms, length


def _choices(values: tuple[int, ...]) -> str:
    """A test-command range as modems print it: (0-3) when contiguous, else (0,2)."""
    if len(values) > 2 and list(values) == list(range(values[0], values[-1] + 1)):
        return f"({values[0]}-{values[-1]})"
    return "(" + ",".join(str(v) for v in values) + ")"
