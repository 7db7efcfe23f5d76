"""An SMS modem over AT commands: start-up, sending, receiving, health.

`Modem` speaks through an `AtChannel` and knows the SMS side of 3GPP TS 27.005 and the
parts of 27.007 a gateway needs. It does not queue, retry or pace: the gateway does.

Receiving keeps nothing only in memory. New messages and status reports are routed to
storage when the modem allows it (`+CMTI` / `+CDSI`, then `AT+CMGR`), and a periodic
`AT+CMGL` catches anything whose indication was lost. A stored message is deleted only
when the caller `acknowledge()`s it, after it has stored it itself. Messages a modem
insists on routing directly (`+CMT` / `+CDS`) are handed over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from drivers._exceptions import AtError, CmeError, CmsError, CommandError, ModemTimeout, PduError
from drivers.at.channel import DEFAULT_QUIET, AtChannel
from drivers.at.events import Urc
from drivers.at.indications import cnmi_choices, reports_routed
from drivers.at.protocol import answer_args
from drivers.at.ranges import offered
from drivers.at.transport import Transport, open_transport
from drivers.sms import Sms, SubmitPart, decode_pdu
from drivers.sms.pdu import SmsStatusReport

__all__ = [
    "Modem",
    "ModemConfig",
    "ModemIdentity",
    "Health",
    "Incoming",
    "Location",
    "open_modem",
    "Registration",
    "CNMI_CANDIDATES",
]

log = logging.getLogger("modemgate.modem")

Registration = Literal["home", "roaming", "searching", "denied", "not_registered", "unknown"]
# 27.007 §7.2 <stat>
_REG_STATES: dict[int, Registration] = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
    6: "home",  # 6–10: SMS-only / CSFB variants of home and roaming (27.007 §7.2)
    7: "roaming",
    8: "unknown",
    9: "home",
    10: "roaming",
}

# CNMI settings tried in order (27.005 §3.4.1): <mode>,<mt>,<bm>,<ds>,<bfr>.
# Store-and-indicate first (mt=1 → +CMTI, ds=2 → +CDSI) so nothing lives only in
# the modem's RAM; then direct status reports; then the short forms old firmware wants.
CNMI_CANDIDATES = (
    "2,1,0,2,0",
    "2,1,0,1,0",
    "1,1,0,2,0",
    "1,1,0,1,0",
    "2,1,0,0,0",
    "1,1,0,0,0",
    "2,1",
    "1,1",
)

# Answers that mean "busy, ask again shortly" rather than no: SIM busy (27.007 §9.2.1 14,
# 27.005 §3.2.5 314) and Wavecom's 515 "please wait, init or command processing in progress".
_BUSY_CME = frozenset({14, 515})
_BUSY_CMS = frozenset({314})
_BUSY_FIRST_PAUSE = 0.25
_BUSY_MAX_PAUSE = 4.0

_PREFIXES = re.compile(r"^(?:\+CGM[IMR]|\+CGSN|\+GM[IMR]|\+GSN|\+CIMI|Manufacturer|Model|Revision|IMEI)\s*:\s*", re.I)


@dataclass(frozen=True)
class ModemConfig:
    """How to talk to one modem. Times are seconds."""

    pin: str | None = None
    smsc: str | None = None  # override the SIM's SMS centre
    storage: tuple[str, ...] = ("SM", "ME")  # preferred memories for received messages
    command_timeout: float = 10.0
    send_timeout: float = 60.0  # AT+CMGS can take this long on a busy network
    init_attempts: int = 3
    sim_ready_wait: float = 10.0  # after PIN entry the SIM needs a while for SMS
    hang_after: int = 3
    # Silence after a read command's information line that stands for its missing OK.
    quiet_time: float = DEFAULT_QUIET
    # How long in all "busy" answers (SIM busy after boot, Wavecom's 515) are waited out.
    busy_wait: float = 20.0


@dataclass(frozen=True)
class ModemIdentity:
    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    imei: str | None = None
    imsi: str | None = None


@dataclass(frozen=True)
class Health:
    rssi: int | None  # 0–31, None when unknown (99)
    registration: Registration
    operator: str | None = None  # AT+COPS? <oper> as the modem gives it (name or MCC+MNC)

    @property
    def dbm(self) -> int | None:
        return None if self.rssi is None else -113 + 2 * self.rssi  # 27.007 §8.5

    @property
    def registered(self) -> bool:
        return self.registration in ("home", "roaming")


@dataclass(frozen=True)
class Location:
    memory: str
    index: int


@dataclass(frozen=True)
class Incoming:
    """A received message or status report, as the modem handed it over.

    `sms` is None when the PDU could not be decoded; `error` says why. Such a PDU is
    still handed over so the caller can keep it: nothing is dropped in the driver.
    `location` is where it is stored (None when routed directly).
    """

    pdu: str
    sms: Sms | None
    location: Location | None = None
    error: str | None = None

    @property
    def is_status_report(self) -> bool:
        return isinstance(self.sms, SmsStatusReport)


@dataclass
class _State:
    identity: ModemIdentity = field(default_factory=ModemIdentity)
    smsc: str | None = None
    cnmi: str | None = None
    memory: str | None = None
    cpms_count: int = 3  # memories AT+CPMS takes: read, write, receive (some take fewer)
    listing: Literal["list", "by_index"] = "list"  # how the storage poll finds messages
    rssi: int | None = None
    registration: Registration = "unknown"
    cmms_supported: bool = True
    needs_cnma: bool = False  # AT+CSMS=1: +CMT / +CDS must be acknowledged


class Modem:
    """One modem. Create with `open_modem()`; call `initialize()` before anything else."""

    def __init__(
        self,
        channel: AtChannel,
        config: ModemConfig | None = None,
        *,
        name: str = "modem",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._sleep = sleep
        self.config = config or ModemConfig()
        self._ch = channel
        self._state = _State()
        self._incoming: asyncio.Queue[Incoming] = asyncio.Queue()
        self._handed: set[Location] = set()  # stored messages given out, not yet acknowledged
        # Slots indicated again while still handed out: the modem may refill a slot the
        # moment AT+CMGD frees it (a message the SMSC held while memory was full, or the
        # next report), before our delete has returned. Read them again after the delete.
        self._indicated_again: set[Location] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._fetching = 0  # indicated slots being read
        channel.set_urc_handler(self._on_urc)

    # --- properties ---------------------------------------------------------------------

    @property
    def identity(self) -> ModemIdentity:
        return self._state.identity

    @property
    def backlog(self) -> int:
        """Messages and reports the modem holds for us that are not acknowledged yet:
        indicated and being read, handed over and being stored. Each one fills a slot of
        its memory, which is small (tens of slots); when it is full, what comes next is
        lost or held back by the network."""
        return self._fetching + len(self._handed)

    @property
    def smsc(self) -> str | None:
        return self._state.smsc

    @property
    def routing(self) -> str | None:
        """The AT+CNMI setting in force (None: indications off, storage polled)."""
        return self._state.cnmi

    @property
    def memory(self) -> str | None:
        return self._state.memory

    @property
    def status_reports(self) -> bool:
        """Whether the AT+CNMI setting in force hands status reports over (<ds> 1 or 2)."""
        return reports_routed(self._state.cnmi)

    @property
    def listing(self) -> Literal["list", "by_index"]:
        """How the storage poll finds messages: `list` (AT+CMGL) or `by_index` (AT+CMGR
        over the slots, for a modem that answers AT+CMGL with a plain ERROR)."""
        return self._state.listing

    @property
    def gone(self) -> bool:
        return self._ch.gone

    @property
    def channel(self) -> AtChannel:
        """The AT line to this modem (its counters: `garbage_bytes`, `consecutive_timeouts`)."""
        return self._ch

    # --- start-up -----------------------------------------------------------------------

    async def initialize(self) -> ModemIdentity:
        """Bring the modem to a known state: echo off, numeric errors, SIM unlocked, PDU
        mode, storage and indications chosen, SMSC known. Raises AtError subclasses."""
        await self._wake()
        await self._cmd("ATE0")
        await self._try("AT+CMEE=1")
        await self._unlock_sim()
        await self._cmd("AT+CMGF=0")
        self._state.identity = await self._read_identity()
        await self._setup_smsc()
        await self._setup_storage()
        await self._setup_indications()
        self._state.needs_cnma = await self._csms_service() == 1
        return self._state.identity

    async def _csms_service(self) -> int | None:
        """27.005 §3.2.1: with message service 1 (phase 2+) direct deliveries need +CNMA."""
        m = await self._query_match("AT+CSMS?", r"\+CSMS:\s*(\d+)")
        return int(m.group(1)) if m else None

    async def _query(self, cmd: str) -> list[str] | None:
        """The answer's lines, or None when the modem refuses the command (an error code or
        plain ERROR: it lacks the command or cannot answer it now)."""
        try:
            return await self._cmd(cmd)
        except (CmsError, CmeError, CommandError):
            return None

    async def _query_match(self, cmd: str, pattern: str) -> re.Match[str] | None:
        """The first answer line that `pattern` matches (case-insensitive), or None."""
        for line in await self._query(cmd) or []:
            m = re.match(pattern, line, re.I)
            if m:
                return m
        return None

    async def _wake(self) -> None:
        # ESC + CR leaves a PDU prompt a previous program may have left open.
        await self._ch.write_raw(b"\x1b\r")
        await asyncio.sleep(0.05)
        last: AtError | None = None
        for _ in range(self.config.init_attempts):
            try:
                await self._ch.command("AT", timeout=min(self.config.command_timeout, 3.0))
                return
            except (ModemTimeout, CommandError) as exc:
                last = exc
        raise last or ModemTimeout(f"{self.name}: no answer to AT")

    async def pin_state(self) -> str:
        """`READY`, `SIM PIN`, `SIM PUK`, … as AT+CPIN? says."""
        lines = await self._cmd("AT+CPIN?")
        for line in lines:
            if line.upper().startswith("+CPIN:"):
                return line.split(":", 1)[1].strip().strip('"').upper()
        return "UNKNOWN"

    async def _unlock_sim(self) -> None:
        state = await self.pin_state()
        if state == "READY":
            return
        if state == "SIM PIN":
            if not self.config.pin:
                raise CmeError(11, "SIM PIN required and no PIN is configured for this modem")
            await self._cmd(f'AT+CPIN="{self.config.pin}"')
            await self._wait_sim_ready()
            return
        if state == "SIM PUK":
            raise CmeError(12, "SIM PUK required: the SIM is blocked after wrong PINs")
        raise CmeError(None, f"SIM not usable: {state}")

    async def _wait_sim_ready(self) -> None:
        # After the PIN, SMS commands fail (CMS 310–315, 500, CME 14 'SIM busy') for a while.
        deadline = asyncio.get_running_loop().time() + self.config.sim_ready_wait
        while True:
            try:
                await self._cmd("AT+CPMS?")
                return
            except (CmsError, CmeError):
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _read_identity(self) -> ModemIdentity:
        async def one(cmd: str) -> str | None:
            for line in await self._query(cmd) or []:
                value = _PREFIXES.sub("", line).strip().strip('"')
                if value:
                    return value
            return None

        return ModemIdentity(
            manufacturer=await one("AT+CGMI"),
            model=await one("AT+CGMM"),
            revision=await one("AT+CGMR"),
            imei=await one("AT+CGSN"),
            imsi=await one("AT+CIMI"),
        )

    async def _setup_smsc(self) -> None:
        if self.config.smsc:
            number = self.config.smsc
            toa = 145 if number.startswith("+") else 129
            await self._cmd(f'AT+CSCA="{number}",{toa}')
        self._state.smsc = await self.read_smsc()

    async def read_smsc(self) -> str | None:
        m = await self._query_match("AT+CSCA?", r'\+CSCA:\s*"([^"]*)"')
        return (m.group(1) or None) if m else None

    async def _setup_storage(self) -> None:
        """Choose the memory for reading, writing and receiving. AT+CPMS takes three
        memories on most modems, two or one on some (Wavecom offers two); the test answer
        says which memories go where, so forms it rules out are not tried."""
        groups = offered(answer_args(await self._query("AT+CPMS=?") or [], "+CPMS") or "")
        groups = [[mem.upper() for mem in group] for group in groups]
        counts = [n for n in (3, 2, 1) if not groups or n <= len(groups)] or [1]
        for mem in self.config.storage:
            for count in counts:
                if groups and any(mem not in group for group in groups[:count]):
                    continue
                if await self._query(_cpms(mem, count)) is not None:
                    self._state.memory, self._state.cpms_count = mem, count
                    return
        # None: keep the modem's own choice.
        self._state.memory = None

    async def _setup_indications(self) -> None:
        offer = offered(answer_args(await self._query("AT+CNMI=?") or [], "+CNMI") or "")
        candidates = list(dict.fromkeys([*cnmi_choices(offer), *CNMI_CANDIDATES]))
        self._state.cnmi = await self._first_accepted(candidates, lambda setting: f"AT+CNMI={setting}")
        if self._state.cnmi is None:
            log.warning("%s: no AT+CNMI setting accepted; relying on polling storage", self.name)
        elif not self.status_reports:
            log.warning("%s: status reports are not handed over (AT+CNMI=%s)", self.name, self._state.cnmi)

    async def _first_accepted(self, candidates: Iterable[str], command: Callable[[str], str]) -> str | None:
        """The first candidate whose command the modem accepts (it is then in effect), or None."""
        for candidate in candidates:
            if await self._query(command(candidate)) is not None:
                return candidate
        return None

    # --- sending ------------------------------------------------------------------------

    async def send(self, part: SubmitPart) -> int:
        """Send one part; return the message reference from `+CMGS: <mr>`."""
        lines = await self._ch.command_with_pdu(
            f"AT+CMGS={part.tpdu_length}",
            part.pdu,
            timeout=self.config.send_timeout,
            prompt_timeout=self.config.command_timeout,
        )
        for line in lines:
            m = re.match(r"\+CMGS:\s*(\d+)", line, re.I)
            if m:
                return int(m.group(1))
        raise CommandError(f"{self.name}: AT+CMGS answered OK without +CMGS: <mr>")

    @contextlib.asynccontextmanager
    async def multipart(self) -> AsyncIterator[None]:
        """Keep the radio link up between the parts of one message (AT+CMMS=2)."""
        enabled = False
        if self._state.cmms_supported:
            try:
                await self._cmd("AT+CMMS=2")
                enabled = True
            except (CmsError, CmeError, CommandError):
                self._state.cmms_supported = False  # many modems lack it; parts still go
        try:
            yield
        finally:
            if enabled and not self.gone:
                with contextlib.suppress(AtError):
                    await self._cmd("AT+CMMS=0")

    # --- receiving ----------------------------------------------------------------------

    async def next_incoming(self) -> Incoming:
        """Wait for the next received message or status report."""
        return await self._incoming.get()

    def incoming_nowait(self) -> list[Incoming]:
        out = []
        while not self._incoming.empty():
            out.append(self._incoming.get_nowait())
        return out

    async def poll_storage(self) -> int:
        """List stored messages (AT+CMGL=4) and hand over those not yet handed over.

        The fallback for lost `+CMTI` and for modems with no indications; returns how
        many new ones were found. A modem that answers the listing with a plain ERROR
        (Nokia phones do, even with AT+CMEE=1) is read slot by slot from then on.
        """
        if self._state.listing == "by_index":
            return await self._poll_by_index()
        try:
            lines = await self._cmd("AT+CMGL=4", timeout=max(self.config.command_timeout, 30.0))
        except CommandError as exc:
            log.warning("%s: AT+CMGL=4 answered %s; reading storage slot by slot instead", self.name, exc)
            self._state.listing = "by_index"
            return await self._poll_by_index()
        found = 0
        memory = self._state.memory or "SM"
        for header, pdu in _pairs(lines, "+CMGL:"):
            m = re.match(r"\+CMGL:\s*(\d+)", header, re.I)
            if not m:
                continue
            loc = Location(memory, int(m.group(1)))
            if loc in self._handed:
                continue
            self._hand_over(pdu, loc)
            found += 1
        return found

    async def _poll_by_index(self) -> int:
        """AT+CMGR over the slots of the read memory until as many messages as AT+CPMS?
        counts were seen; empty or refused slots are passed over."""
        m = await self._query_match("AT+CPMS?", r'\+CPMS:\s*(?:"[^"]*"\s*,\s*)?(\d+)\s*,\s*(\d+)')
        if m is None:
            return 0
        used, total = int(m.group(1)), int(m.group(2))
        memory = self._state.memory or "SM"
        found = seen = 0
        for index in range(1, total + 1):
            if seen >= used:
                break
            lines = await self._query(f"AT+CMGR={index}")
            pairs = _pairs(lines or [], "+CMGR:")
            if not pairs:
                continue
            seen += 1
            location = Location(memory, index)
            if location not in self._handed:
                self._hand_over(pairs[0][1], location)
                found += 1
        return found

    async def read(self, location: Location) -> Incoming | None:
        """Read one stored message (None for an empty slot)."""
        await self._select(location.memory)
        lines = await self._cmd(f"AT+CMGR={location.index}")
        for _header, pdu in _pairs(lines, "+CMGR:"):
            return _incoming(pdu, location)
        return None

    async def delete(self, location: Location) -> None:
        await self._select(location.memory)
        await self._cmd(f"AT+CMGD={location.index}")
        self._handed.discard(location)
        if location in self._indicated_again:
            self._indicated_again.discard(location)
            self._spawn(self._fetch(location))

    def forget(self, item: Incoming) -> None:
        """The caller could not store `item`: let the next storage poll hand it over again."""
        if item.location is not None:
            self._handed.discard(item.location)
            self._indicated_again.discard(item.location)  # still the same message in it

    async def acknowledge(self, item: Incoming) -> None:
        """The caller has stored `item`: free its slot in the modem."""
        if item.location is not None:
            await self.delete(item.location)

    async def _acknowledge_direct(self) -> None:
        try:
            await self._cmd("AT+CNMA")
        except AtError as exc:
            log.warning("%s: AT+CNMA failed: %s", self.name, exc)

    async def _select(self, memory: str) -> None:
        if self._state.memory != memory:
            await self._cmd(_cpms(memory, self._state.cpms_count))
            self._state.memory = memory

    def _on_urc(self, urc: Urc) -> None:
        name = urc.name.upper()
        if name in ("+CMTI", "+CDSI"):
            m = re.match(r'"?([A-Za-z]+)"?\s*,\s*(\d+)', urc.args)
            if m:
                self._spawn(self._fetch(Location(m.group(1).upper(), int(m.group(2)))))
        elif name in ("+CMT", "+CDS") and urc.pdu is not None:
            self._incoming.put_nowait(_incoming(urc.pdu.strip(), None))
            if self._state.needs_cnma:
                # Acknowledge at once: unacknowledged, the modem stops delivering (and the
                # network resends), which would stall every later message.
                self._spawn(self._acknowledge_direct())
        elif name in ("^RSSI", "+CSQ"):
            m = re.match(r"\s*(\d+)", urc.args)
            if m:
                rssi = int(m.group(1))
                self._state.rssi = None if rssi == 99 else rssi
        elif name in ("+CREG", "+CEREG", "+CGREG"):
            stat = _registration_from(urc.args, unsolicited=True)
            if stat is not None and name == "+CREG":
                self._state.registration = stat

    async def _fetch(self, location: Location) -> None:
        if location in self._handed:
            # Never dropped: a STOP in a refilled slot must not wait for the storage poll.
            self._indicated_again.add(location)
            return
        self._fetching += 1
        try:
            item = await self.read(location)
        except AtError as exc:
            # The periodic poll picks it up later; nothing is lost by failing here.
            log.warning("%s: reading %s failed: %s", self.name, location, exc)
            return
        finally:
            self._fetching -= 1
        if item is not None and location not in self._handed:
            self._handed.add(location)
            self._incoming.put_nowait(item)

    def _hand_over(self, pdu: str, location: Location) -> None:
        self._handed.add(location)
        self._incoming.put_nowait(_incoming(pdu, location))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- health -------------------------------------------------------------------------

    async def health(self) -> Health:
        """Signal (AT+CSQ), registration (AT+CREG?, then AT+CEREG? for LTE-only) and, when
        registered, the operator (AT+COPS?)."""
        rssi: int | None = None
        with contextlib.suppress(CmsError, CmeError, CommandError):
            for line in await self._cmd("AT+CSQ"):
                m = re.match(r"\+CSQ:\s*(\d+)", line, re.I)
                if m:
                    value = int(m.group(1))
                    rssi = None if value == 99 else value
        registration: Registration = "unknown"
        for cmd in ("AT+CREG?", "AT+CEREG?"):
            try:
                lines = await self._cmd(cmd)
            except (CmsError, CmeError, CommandError):
                continue
            for line in lines:
                if ":" in line:
                    stat = _registration_from(line.split(":", 1)[1], unsolicited=False)
                    if stat is not None:
                        registration = stat
            if registration in ("home", "roaming"):
                break
        operator: str | None = None
        if registration in ("home", "roaming"):
            with contextlib.suppress(CmsError, CmeError, CommandError):
                operator = _operator(await self._cmd("AT+COPS?"))
        self._state.rssi, self._state.registration = rssi, registration
        return Health(rssi, registration, operator)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._ch.close()

    # --- plumbing -----------------------------------------------------------------------

    async def _cmd(self, command: str, *, timeout: float | None = None) -> list[str]:
        """Run `command`; a "busy, ask again" answer is asked again after growing pauses,
        `busy_wait` seconds in all, before its error stands."""
        waited, pause = 0.0, _BUSY_FIRST_PAUSE
        while True:
            try:
                return await self._ch.command(command, timeout=timeout or self.config.command_timeout)
            except (CmeError, CmsError) as exc:
                if not _is_busy(exc):
                    raise
                if waited + pause > self.config.busy_wait:
                    exc.args = (f"{exc} (still busy after {waited:g} s of waiting: SIM or modem starting up)",)
                    raise
                log.info("%s: %s answered %s; asking again in %g s", self.name, command, exc, pause)
                await self._sleep(pause)
                waited += pause
                pause = min(pause * 2, _BUSY_MAX_PAUSE)

    async def _try(self, command: str) -> bool:
        try:
            await self._cmd(command)
            return True
        except (CmsError, CmeError, CommandError):
            return False


async def open_modem(
    url: str,
    config: ModemConfig | None = None,
    *,
    name: str | None = None,
    transport: Callable[[str], Awaitable[Transport]] = open_transport,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Modem:
    """Open the port at `url` and return a Modem (not yet initialised); `sleep` waits
    between answers of a modem that says it is busy."""
    config = config or ModemConfig()
    port = await transport(url)
    channel = AtChannel(port, hang_after=config.hang_after, name=name or url, quiet=config.quiet_time)
    return Modem(channel, config, name=name or url, sleep=sleep)


def _operator(lines: list[str]) -> str | None:
    """<oper> of `+COPS: <mode>,<format>,<oper>[,<AcT>]` (27.007 §7.3), None without one."""
    args = answer_args(lines, "+COPS")
    if args is None:
        return None
    fields = args.split(",")
    if len(fields) < 3:
        return None
    name = fields[2].strip().strip('"').strip()
    return name or None


def _cpms(memory: str, count: int) -> str:
    """AT+CPMS with `memory` for the first `count` uses (read, write, receive)."""
    return "AT+CPMS=" + ",".join([f'"{memory}"'] * count)


def _is_busy(exc: CmeError | CmsError) -> bool:
    return exc.code in (_BUSY_CME if isinstance(exc, CmeError) else _BUSY_CMS)


def _incoming(pdu: str, location: Location | None) -> Incoming:
    try:
        return Incoming(pdu, decode_pdu(pdu), location)
    except PduError as exc:
        return Incoming(pdu, None, location, str(exc))


def _pairs(lines: list[str], tag: str) -> list[tuple[str, str]]:
    """(header, PDU) pairs from a CMGL/CMGR listing."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        if lines[i].upper().startswith(tag.upper()) and i + 1 < len(lines):
            out.append((lines[i], lines[i + 1].strip()))
            i += 2
        else:
            i += 1
    return out


def _registration_from(args: str, *, unsolicited: bool) -> Registration | None:
    """<stat> from `+CREG: <n>,<stat>[,…]` (read) or `+CREG: <stat>[,…]` (URC)."""
    fields = [f.strip().strip('"') for f in args.split(",")]
    idx = 0 if unsolicited else 1
    if len(fields) == 1 and not unsolicited:
        idx = 0
    try:
        return _REG_STATES.get(int(fields[idx]), "unknown")
    except (ValueError, IndexError):
        return None
