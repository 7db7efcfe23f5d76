"""`modemgate simulate`: simulated modems on ptys / TCP for any AT client."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from typing import IO

import typer

from drivers.simulator.personalities import PERSONALITIES, personality
from drivers.simulator.replay import Replay, load_replay
from drivers.simulator.server import Simulator, default_profile


def _host_port(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise typer.BadParameter(f"{option} takes HOST:PORT, not {value!r}")
    return host or "127.0.0.1", int(port)


_PROFILE_OPTION = typer.Option(
    None,
    "--profile",
    help=f"Modem personality: {', '.join(PERSONALITIES)}. Once for every modem, or once per modem in order.",
)


def simulate(
    modems: int = typer.Option(2, "--modems", min=1, max=1024, help="How many modems."),
    pty: bool = typer.Option(False, "--pty", help="Expose each modem on a pseudo-terminal."),
    tcp: str | None = typer.Option(
        None, "--tcp", help="HOST:PORT; modem i listens on PORT+i-1 (PORT 0 picks free ports)."
    ),
    control: str | None = typer.Option(None, "--control", help="HOST:PORT of the HTTP control API."),
    journal: str | None = typer.Option(None, "--journal", help="Append every submitted part here (JSON lines)."),
    profile: list[str] | None = _PROFILE_OPTION,
    noise_every: float | None = typer.Option(
        None,
        "--noise-every",
        min=0.01,
        help="Seconds between the profile's periodic unsolicited lines (Huawei ^RSSI …), instead of its own.",
    ),
    replay: str | None = typer.Option(
        None, "--replay", help="Answer like the device in this recording (`modems probe --record`)."
    ),
) -> None:
    """Run simulated modems that real AT clients (gammu, minicom, smstools) can open.

    Prints one line per modem: `<id> number=… pty=… tcp=…`.
    """
    profiles = profile or []
    for name in profiles:
        if name not in PERSONALITIES:
            typer.echo(f"error: unknown --profile {name!r}; known: {', '.join(PERSONALITIES)}", err=True)
            raise typer.Exit(2)
    if len(profiles) > 1 and len(profiles) != modems:
        typer.echo(
            f"error: {len(profiles)} --profile options for {modems} modems: give one, or one per modem", err=True
        )
        raise typer.Exit(2)
    if noise_every is not None and not (profiles and all(personality(name).noise_urcs for name in profiles)):
        chatty = ", ".join(name for name in PERSONALITIES if personality(name).noise_urcs)
        typer.echo(f"error: --noise-every needs a --profile that has periodic lines: {chatty}", err=True)
        raise typer.Exit(2)
    recorded: Replay | None = None
    if replay is not None:
        try:
            recorded = load_replay(replay)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: --replay: {exc}", err=True)
            raise typer.Exit(2) from None
    tcp_addr = _host_port(tcp, "--tcp") if tcp else None
    control_addr = _host_port(control, "--control") if control else None
    if not pty and tcp_addr is None:
        pty = True
    asyncio.run(_run(modems, pty, tcp_addr, control_addr, journal, profiles, noise_every, recorded))


async def _run(
    modems: int,
    pty: bool,
    tcp: tuple[str, int] | None,
    control: tuple[str, int] | None,
    journal_path: str | None,
    profile_names: list[str] | None = None,
    noise_every: float | None = None,
    replay: Replay | None = None,
) -> None:
    journal: IO[str] | None = open(journal_path, "a", encoding="utf-8") if journal_path else None
    names = profile_names or []
    profiles = [
        default_profile(i, names[(i - 1) % len(names)] if names else None, noise_every, replay)
        for i in range(1, modems + 1)
    ]
    sim = Simulator(modems, journal=journal, profiles=profiles)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for ep in await sim.expose(pty=pty, tcp=tcp):
            fields = [ep.modem_id, f"number={ep.number}"]
            if ep.pty:
                fields.append(f"pty={ep.pty}")
            if ep.tcp_url:
                fields.append(f"tcp={ep.tcp_url}")
            print(" ".join(fields), flush=True)
        server = serving = None
        if control is not None:
            import uvicorn

            from drivers.simulator.control import create_control_app

            # Bind first, so port 0 works and the printed address accepts connections at once.
            sock = socket.create_server(control)
            host, port = sock.getsockname()[:2]
            config = uvicorn.Config(create_control_app(sim), log_level="warning")
            server = uvicorn.Server(config)
            # Signals are ours (they stop the whole simulator), not uvicorn's.
            server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # uvicorn < 0.29 only
            server.capture_signals = contextlib.nullcontext  # type: ignore[assignment]  # any no-op context manager will do
            serving = loop.create_task(server.serve(sockets=[sock]))
            print(f"control=http://{host}:{port}", file=sys.stderr, flush=True)
        await stop.wait()
        if server is not None and serving is not None:
            server.should_exit = True
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(serving, 5)
    finally:
        sim.close()
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.close()
