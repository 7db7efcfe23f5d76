"""`modemgate serve`, `modemgate apikey`, `modemgate send`."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

import typer

from drivers import ConfigError
from gateway.core.settings import load_settings

# The database, HTTP client and server are imported inside the commands that use them,
# so the other commands (pdu, probe, simulate) start without loading them.

apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


def _settings(config: str | None, **overrides: object):
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


def serve(
    config: str | None = typer.Option(
        None, "--config", help="TOML settings file (default ./modemgate.toml if present)."
    ),
    host: str | None = typer.Option(None, "--host"),
    port: int | None = typer.Option(None, "--port"),
) -> None:
    """Run the HTTP API and the dispatcher in one process.

    SIGTERM or Ctrl-C drains: nothing more is claimed, the messages in hand finish within
    `drain_timeout` seconds (default 30), and the process exits with status 0. A second
    gateway on the same SQLite database, or with a modem id another gateway holds, exits
    at once with status 1 and one line saying which."""
    import uvicorn

    from api.app import create_app
    from gateway.automation.wiring import automation
    from gateway.core.ownership import AlreadyRunning, ModemHeld
    from gateway.core.runtime import Gateway

    settings = _settings(config, host=host, port=port)
    modems = settings.effective_modems()
    typer.echo(
        f"modemgate: {settings.database_url}, {len(modems)} modem(s): "
        + ", ".join(f"{m.id} ({'simulated' if m.simulated else m.port})" for m in modems)
        + f"; listening on http://{settings.host}:{settings.port}",
        err=True,
    )
    gateway = Gateway(settings, extensions=automation(settings))
    try:
        gateway.acquire()  # before serving anything: one gateway per database file and modem
    except (AlreadyRunning, ModemHeld) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    _log_to_stderr(settings.log_format, settings.log_level)
    app = create_app(settings, gateway=gateway)
    server = _server_class()(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            # HTTP requests in progress get the same grace as the messages in hand.
            timeout_graceful_shutdown=max(1, round(settings.drain_timeout)),
        ),
        on_signal=gateway.request_drain,
    )
    server.run()


def _log_to_stderr(fmt: Literal["text", "json"] = "text", level: str = "INFO") -> None:
    from gateway.core.logs import configure

    configure(logging.getLogger("modemgate"), fmt=fmt, level=level)


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, which also starts the gateway's drain at the first SIGTERM or
        SIGINT (while the HTTP side winds down; its lifespan shutdown then waits for the
        drain), and ends normally afterwards: uvicorn would raise the signal again after
        its shutdown, and the process would end as killed by it instead of with status 0."""

        def __init__(self, config: uvicorn.Config, *, on_signal: Callable[[], None]) -> None:
            super().__init__(config)
            self._on_signal = on_signal

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._on_signal()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Argument(..., help="What the key is for (shown in listings)."),
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="What the key may do, repeatable: send (messages, reports, inbox, webhooks), marketing "
            "(contacts, lists, segments, opt-outs, campaigns, conversions), admin (modem changes, "
            "simulator control). Default: send only.",
        ),
    ] = None,
    config: str | None = typer.Option(None, "--config"),
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from gateway.core import apikeys
    from gateway.core.db import create_engine_for, migrate, session
    from gateway.core.errors import InvalidInput

    try:
        scopes = apikeys.parse_scopes(scope or apikeys.DEFAULT_SCOPES)
    except InvalidInput as exc:
        typer.echo(f"error: --{exc}", err=True)
        raise typer.Exit(code=2) from None
    settings = _settings(config)
    engine = create_engine_for(settings.database_url)
    migrate(engine)
    with session(engine) as s:
        new, _ = apikeys.create(s, name, scopes.split(","))
        s.commit()
    typer.echo(new.key)
    typer.echo(f"API key {name!r} created with scopes {scopes}. It is shown only now; store it safely.", err=True)


@apikey_app.command("list")
def apikey_list(config: str | None = typer.Option(None, "--config")) -> None:
    """List API keys: prefix, name, scopes, created, revoked (never the keys themselves)."""
    from sqlmodel import col, select

    from gateway.core.db import create_engine_for, migrate, session
    from gateway.core.models import ApiKey

    engine = create_engine_for(_settings(config).database_url)
    migrate(engine)
    with session(engine) as s:
        for key in s.exec(select(ApiKey).order_by(col(ApiKey.id))):
            revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            typer.echo(
                f"{key.prefix}  {key.name}  scopes {key.scopes}  created {key.created_at:%Y-%m-%d %H:%M}  {revoked}"
            )


@apikey_app.command("revoke")
def apikey_revoke(
    prefix: str = typer.Argument(..., help="The key's prefix (the 8 characters after mg_), or the whole key."),
    config: str | None = typer.Option(None, "--config"),
) -> None:
    """Revoke an API key and disable its webhooks and callbacks. A running gateway refuses
    the key within 5 seconds and posts nothing more for it."""
    from sqlmodel import select

    from gateway.core import apikeys
    from gateway.core.db import create_engine_for, migrate, session
    from gateway.core.models import ApiKey, utcnow

    wanted = apikeys.parse_prefix(prefix) or prefix
    engine = create_engine_for(_settings(config).database_url)
    migrate(engine)
    with session(engine, write=True) as s:
        key = s.exec(select(ApiKey).where(ApiKey.prefix == wanted)).first()
        if key is None:
            typer.echo(f"error: no API key with prefix {wanted!r} (modemgate apikey list shows them)", err=True)
            raise typer.Exit(code=2)
        dropped = apikeys.revoke(s, key, now=utcnow())
        s.commit()
    typer.echo(
        f"API key {wanted} ({key.name}) revoked; its webhooks are disabled ({dropped} deliveries dropped).", err=True
    )


def send(
    to: str = typer.Option(..., "--to", help="Recipient."),
    text: str = typer.Argument(..., help="Message text."),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Gateway base URL."),
    key: str | None = typer.Option(None, "--key", help="API key (default: $MODEMGATE_API_KEY)."),
    modem: str | None = typer.Option(None, "--modem"),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key"),
) -> None:
    """Submit a message through a running gateway's API; prints the stored message."""
    import httpx

    if not text.strip():
        typer.echo("error: the text is empty or only whitespace: an SMS needs text", err=True)
        raise typer.Exit(code=2)
    api_key = key or os.environ.get("MODEMGATE_API_KEY")
    if not api_key:
        typer.echo("error: give --key or set MODEMGATE_API_KEY", err=True)
        raise typer.Exit(code=2)
    body: dict[str, object] = {"to": to, "text": text}
    if modem:
        body["modem"] = modem
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/v1/messages", json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: {url}: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if response.status_code >= 400:
        try:
            err = response.json()["error"]
            typer.echo(f"error: {response.status_code} {err['code']}: {err['message']}", err=True)
        except (ValueError, KeyError, TypeError):
            typer.echo(f"error: HTTP {response.status_code}", err=True)
        raise typer.Exit(code=2)
    typer.echo(json.dumps(response.json(), ensure_ascii=False))
