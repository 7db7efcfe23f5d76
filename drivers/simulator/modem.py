"""AT interpreter of a simulated modem (3GPP TS 27.005 / 27.007, V.250 command syntax).

It answers like a common USB modem (the defaults imitate a Huawei E173 stick with clean
output; `personalities.py` has other makers' models): echo on until `ATE0`, `ERROR` for
commands it does not know, `+CMS`/`+CME` errors per `AT+CMEE`,
PDU and text mode, SIM/ME message storage, `AT+CNMI` routing of new messages and status
reports, and the faults in `faults.py`.

The interpreter is sans-IO: bytes come in through `feed()`, bytes go out through the
`write` callback, and anything that takes time goes through `call_later`. `server.py`
connects it to a pty or a TCP socket.

The plan, as aiosmtpd splits its server: this module holds the wire (bytes in, command
lines, answers, unsolicited lines) and the modem's public surface; `framing.py` frames
commands and answers, `sim.py` keeps the SIM's state, `routing.py` the message memories and
where new messages go, and `commands/` the handlers, one module per command family. The
handlers use only the public surface below, never the wire's state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from drivers.simulator.commands import HANDLERS, run_basic
from drivers.simulator.faults import Faults
from drivers.simulator.framing import (
    CTRL_Z,
    ESC,
    CommandFailed,
    Prompt,
    answer,
    error_result,
    info_block,
    parse_extended,
    split_commands,
)
from drivers.simulator.network import Network
from drivers.simulator.profile import ModemProfile
from drivers.simulator.replay import command_key
from drivers.simulator.routing import SmsRouting
from drivers.simulator.settings import Settings
from drivers.simulator.sim import Sim, registration_stat, registration_urcs
from drivers.simulator.storage import MessageStore

__all__ = ["ModemProfile", "SimulatedModem"]


class SimulatedModem:
    """One simulated modem: AT interpreter + SIM + message storage, attached to a Network.

    The handlers' surface: `profile`, `faults`, `network`, `s` (volatile settings), `sim`,
    `sms` (memories and routing), the plain settings `csca`, `csms`, `cmms`, `cusd`, `cfun`,
    and the methods in "for handlers" below.
    """

    def __init__(
        self,
        modem_id: str,
        network: Network,
        *,
        profile: ModemProfile | None = None,
        call_later: Callable[[float, Callable[[], None]], object],
    ) -> None:
        self.modem_id = modem_id
        self.profile = profile or ModemProfile()
        self.number = self.profile.number
        self.network = network
        self.faults = Faults()
        self._call_later = call_later
        self._outputs: list[Callable[[bytes], None]] = []
        self.on_disconnect_change: Callable[[bool], None] | None = None
        self.s = Settings()
        self.csca = network.smsc if self.profile.smsc is None else self.profile.smsc
        self.csms = 0
        self.cmms = 0
        self.cusd = 0
        self.cfun = 1
        self.sim = Sim(self.profile)
        self.sms = SmsRouting(self)
        self._mr = self.profile.mr_start % 256
        self._line = bytearray()
        self._mode = "command"  # command | prompt | busy
        self._prompt: Prompt | None = None
        self._pending_input = bytearray()
        self._epoch = 0  # bumped by every reset; answers scheduled before it are dropped
        self._urc_queue: list[str] = []
        self.commands_seen: deque[str] = deque(maxlen=1000)  # the latest command lines
        self._noise_turn = 0  # periodic lines sent (or carried into an answer)
        self._noise_carry: str | None = None  # the line the next answer carries
        self._answer_noise_turn = 0  # lines of `answer_noise` slipped into answers so far
        self._started = False  # a command came since power-on (starts the busy time)
        self._busy = False  # still starting up: `busy_error` to the busy commands
        self._closed = False
        self._replay_turns: dict[str, int] = {}  # times each recorded command was answered
        network.attach(self)
        if self.profile.noise_urcs and self.profile.noise_interval > 0:
            self._call_later(self.profile.noise_interval, self._noise)

    # --- wiring -------------------------------------------------------------------------

    def attach(self, write: Callable[[bytes], None]) -> None:
        """Send output to `write` too (a modem exposed on a pty and TCP talks on both,
        as a USB modem's tty talks whether or not a program has it open)."""
        if write not in self._outputs:
            self._outputs.append(write)

    def detach(self, write: Callable[[bytes], None]) -> None:
        if write in self._outputs:
            self._outputs.remove(write)

    @property
    def stores(self) -> dict[str, MessageStore]:
        """The message memories by name (`SM`, `ME`)."""
        return self.sms.stores

    @property
    def noise_sent(self) -> int:
        """How many periodic unsolicited lines (the profile's noise) went out."""
        return self._noise_turn

    def close(self) -> None:
        """Stop timers that repeat for the modem's lifetime (the noise URCs)."""
        self._closed = True

    def set_faults(self, values: dict[str, Any]) -> None:
        was_down = self.faults.disconnect
        had_pin_fault = self.faults.pin_required
        before = self.registration()
        self.faults.update(values)
        if self.faults.pin_required and not had_pin_fault and not self.sim.lock_for_fault():
            self.faults.pin_required = False  # already asking: nothing changes
        self._registration_changed(before)
        if was_down != self.faults.disconnect:
            self._port_changed(self.faults.disconnect)

    def clear_faults(self) -> None:
        was_down = self.faults.disconnect
        before = self.registration()
        self.faults.clear()
        self.sim.unlock_fault()
        self._registration_changed(before)
        if was_down:
            self._port_changed(False)

    def power_cycle(self) -> None:
        """Back to power-up state, as after a brown-out or a reset: volatile settings to
        defaults (echo on, PDU mode, no URC routing), the SIM asks for its PIN again if it
        has one, half-typed input and pending answers are gone. Stored messages, the SMSC
        address and the message reference counter (kept on the SIM) survive."""
        self.s = Settings()
        self.csms = 0
        self.cmms = 0
        self.cusd = 0
        self.cfun = 1
        self.sim.power_on()
        self._line.clear()
        self._mode = "command"
        self._prompt = None
        self._pending_input.clear()
        self._urc_queue.clear()
        self.sms.reset()
        self._epoch += 1
        self._started = self._busy = False

    # --- network side -------------------------------------------------------------------

    def deliver(self, pdu: str) -> bool:
        """An SMS-DELIVER from the network; False when it has to wait (memory full)."""
        return self.sms.deliver(pdu)

    def status_report(self, pdu: str) -> None:
        """An SMS-STATUS-REPORT from the network, routed per <ds> of AT+CNMI."""
        self.sms.status_report(pdu)

    # --- for handlers -------------------------------------------------------------------

    def registration(self) -> int:
        """27.007 §7.2 <stat> now."""
        return registration_stat(no_registration=self.faults.no_registration, cfun=self.cfun)

    @property
    def registered(self) -> bool:
        return self.registration() in (1, 5)

    def set_functionality(self, fun: int) -> None:
        """AT+CFUN=<fun>: registration follows (with +CREG URCs where asked for)."""
        before = self.registration()
        self.cfun = fun
        self._registration_changed(before)

    def restart(self) -> None:
        """AT+CFUN=1,1: after the OK the modem reboots into power-up state and announces
        itself with the profile's boot lines."""

        def restart() -> None:
            self.power_cycle()
            for urc in self.profile.boot_urcs:
                self.urc(urc)

        self.later(self.faults.slow + 0.01, restart)

    def start_up(self) -> None:
        """The modem starts up (power-on, AT+CFUN=1): busy for the profile's time."""
        if self.profile.busy_after_power_on <= 0:
            return
        self._started = self._busy = True

        def ready() -> None:
            self._busy = False

        self.later(self.profile.busy_after_power_on, ready)

    def next_mr(self) -> int:
        """The TP-MR for the next message sent; wraps 255 → 0 (23.040 §9.2.3.6)."""
        mr = self._mr
        self._mr = (self._mr + 1) % 256
        return mr

    def later(self, delay: float, fn: Callable[[], None]) -> None:
        """Run `fn` after `delay` seconds, unless the modem is reset meanwhile."""
        epoch = self._epoch

        def run() -> None:
            if epoch == self._epoch:
                fn()

        self._call_later(delay, run)

    def urc(self, text: str) -> None:
        """An unsolicited line: now on an idle line, else after the running command's answer."""
        if self._mode == "command" and not self.faults.silent:
            self._out(f"\r\n{text}\r\n".encode("latin-1"))
        else:
            self._urc_queue.append(text)  # CNMI mode 2: held while a command runs

    def answer_ok(self, info: list[list[str]]) -> None:
        """Answer the command in hand: information text, then OK."""
        self._respond(answer(info, "OK" if self.s.verbose else "0", self.s))

    def answer_error(self, info: list[list[str]], err: CommandFailed) -> None:
        """Answer the command in hand with a failing final result."""
        self._respond(answer(info, error_result(err, self.s, self.profile.unsupported_final), self.s))

    # --- bytes in -----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.faults.hang_until_reset and not self.faults.disconnect:
            self._wedged(data)
            return
        if self.faults.hang or self.faults.disconnect:
            return  # a wedged modem swallows everything
        if self._mode == "busy":
            self._pending_input += data
            return
        for i, byte in enumerate(data):
            if self._mode == "busy":
                self._pending_input += data[i:]
                return
            if self._mode == "prompt":
                self._prompt_byte(byte)
            else:
                self._command_byte(byte)

    def _wedged(self, data: bytes) -> None:
        """Fault `hang_until_reset`: nothing is answered, but a reset line (`AT+CFUN=1,1`)
        still reaches the firmware's reset path: OK, then a restart that clears the fault."""
        self._line += data
        while b"\r" in self._line:
            raw, _, rest = bytes(self._line).partition(b"\r")
            self._line[:] = rest
            if raw.decode("latin-1").strip(" \x1b\n").upper().replace(" ", "") == "AT+CFUN=1,1":
                self._line.clear()
                self.faults.hang_until_reset = False
                self._mode = "command"
                self._out(b"\r\nOK\r\n")
                self.restart()
                return
        del self._line[1024:]

    def _command_byte(self, byte: int) -> None:
        if self.s.echo:
            self._out(bytes((byte,)))
        if byte == 0x0D:
            line = self._line.decode("latin-1")
            self._line.clear()
            self._run_line(line)
        elif byte in (0x0A, ESC):
            pass  # clients send ESC CR to leave a prompt that may still be open
        elif byte == 0x08:
            del self._line[-1:]
        elif len(self._line) < 1024:
            self._line.append(byte)

    def _prompt_byte(self, byte: int) -> None:
        if byte == CTRL_Z:
            body = self._line.decode("latin-1")
            self._line.clear()
            if self.s.echo:
                self._out(b"\x1a")
            prompt, self._prompt = self._prompt, None
            self._mode = "busy"
            if prompt is not None:
                prompt.finish(body)
        elif byte == ESC:
            self._line.clear()
            self._prompt = None
            self._mode = "busy"
            self.answer_ok([])  # 27.005 §3.5.1: ESC quits without sending
        else:
            if self.s.echo:
                self._out(bytes((byte,)))
            if len(self._line) < 4096:
                self._line.append(byte)

    # --- command lines ------------------------------------------------------------------

    def _run_line(self, line: str) -> None:
        text = line.strip()
        if text[:2].upper() != "AT":
            return  # not a command line: real modems ignore it
        self.commands_seen.append(text)
        if not self._started:
            self.start_up()  # the first command after power-on: the stand-in for plugging it in
        self._mode = "busy"
        if self.profile.replay is not None and self._replayed(text):
            return
        info: list[list[str]] = []  # one block per command: V.250 frames each on its own
        commands = split_commands(text[2:])
        try:
            for cmd in commands:
                result = self._execute(cmd)
                if isinstance(result, Prompt):
                    self._ask_for_input(result, info)
                    return
                if result:
                    info.append(result)
        except CommandFailed as err:
            self.answer_error(info, err)
            return
        if self._without_final(commands):
            self._respond(info_block(info, self.s.verbose).encode("latin-1"))
            return
        self.answer_ok(info)

    def _replayed(self, line: str) -> bool:
        """Answer `line` as the recorded device did, if the replay says so (`replay.py`)."""
        assert self.profile.replay is not None
        key = command_key(line)
        turn = self._replay_turns.get(key, 0)
        recorded = self.profile.replay.decide(line, turn)
        self._replay_turns[key] = turn + 1
        if recorded is None:
            return False
        data = b"".join(f"\r\n{text}\r\n".encode("latin-1") for text in recorded.lines)
        self.later(recorded.delay, lambda: self._respond(data))
        for text in recorded.after:
            self.later(recorded.delay, lambda text=text: self.urc(text))  # type: ignore[misc]
        return True

    def _without_final(self, commands: list[str]) -> bool:
        """A read command this model answers without its final result (`no_final`)."""
        if len(commands) != 1 or not self.profile.no_final or not commands[0] or commands[0][0] not in "+^$#%*":
            return False
        name, form, _ = parse_extended(commands[0])
        return form == "read" and name in self.profile.no_final

    def _execute(self, cmd: str) -> list[str] | Prompt:
        upper = cmd.upper()
        if upper and upper[0] in "+^$#%*":
            name, form, args = parse_extended(cmd)
            handler = HANDLERS.get(name)
            if handler is None or name in self.profile.refuse:
                raise CommandFailed("UNSUPPORTED")
            if self._busy and self._busy_for(name):
                raise CommandFailed(*self.profile.busy_error)
            return handler(self, form, args)
        return run_basic(self, upper)

    def _busy_for(self, name: str) -> bool:
        commands = self.profile.busy_commands
        return name in commands if commands else name not in ("+CMEE", "+CFUN")

    # --- answers ------------------------------------------------------------------------

    def _respond(self, data: bytes) -> None:
        """Send a complete answer, after the `slow` delay, then accept input again."""
        garbage = self.faults.garbage
        epoch = self._epoch

        def send() -> None:
            if epoch != self._epoch:
                return  # the modem was reset meanwhile: the answer is lost with it
            if self.faults.silent or self.faults.disconnect:
                self._mode = "command"
                return
            carried, self._noise_carry = self._noise_carry, None
            noise = f"\r\n{carried}\r\n".encode("latin-1") if carried else b""
            slipped = self.profile.answer_noise
            if slipped:
                line = slipped[self._answer_noise_turn % len(slipped)]
                self._answer_noise_turn += 1
                noise += f"\r\n{line}\r\n".encode("latin-1")
            self._out(garbage + noise + data)
            self._mode = "command"
            self._flush_urcs()
            if self._pending_input:
                pending = bytes(self._pending_input)
                self._pending_input.clear()
                self.feed(pending)

        if self.faults.slow > 0:
            self._call_later(self.faults.slow, send)
        else:
            send()

    def _ask_for_input(self, prompt: Prompt, info: list[list[str]]) -> None:
        text = (info_block(info, self.s.verbose) + "\r\n> ").encode("latin-1")
        self._prompt = prompt
        self._mode = "prompt"
        self._line.clear()
        epoch = self._epoch

        def send() -> None:
            if epoch == self._epoch:
                self._out(text)

        if self.faults.slow > 0:
            self._call_later(self.faults.slow, send)
        else:
            send()

    def _out(self, data: bytes) -> None:
        if not self.faults.disconnect:
            for write in self._outputs:
                write(data)

    # --- unsolicited result codes -------------------------------------------------------

    def _noise(self) -> None:
        """One periodic unsolicited line, then the next tick. Sent on an idle line, never
        between `> ` and the PDU or amid a half-typed command; with `noise_in_answers`,
        every other one is carried at the start of the next answer instead."""
        if self._closed:
            return
        idle = self._mode == "command" and not self._line and not self._pending_input
        if idle and not (self.faults.silent or self.faults.disconnect):
            text = self.profile.noise_urcs[self._noise_turn % len(self.profile.noise_urcs)]
            if self.profile.noise_in_answers and self._noise_turn % 2 and self._noise_carry is None:
                self._noise_carry = text
            else:
                self._out(f"\r\n{text}\r\n".encode("latin-1"))
            self._noise_turn += 1
        self._call_later(self.profile.noise_interval, self._noise)

    def _flush_urcs(self) -> None:
        queued, self._urc_queue = self._urc_queue, []
        for text in queued:
            self._out(f"\r\n{text}\r\n".encode("latin-1"))

    # --- state changes ------------------------------------------------------------------

    def _port_changed(self, down: bool) -> None:
        if not down:
            self.power_cycle()  # the modem browned out with its port: back in power-up state
        if self.on_disconnect_change:
            self.on_disconnect_change(down)

    def _registration_changed(self, before: int) -> None:
        for urc in registration_urcs(before, self.registration(), self.s):
            self.urc(urc)
