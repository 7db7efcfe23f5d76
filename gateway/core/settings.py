"""Settings: `modemgate.toml` plus `MODEMGATE_*` environment variables.

The environment wins over the file (so a container can override one key), and the file
wins over defaults. With no file and no `[[modems]]`, two simulated modems (`sim://`)
run in-process, so `modemgate serve` works on a fresh machine. Anything invalid is one
`ConfigError` at start, naming the key — never a traceback half-way through a send.
"""

from __future__ import annotations

import ipaddress
import math
import re
import shlex
import socket
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from drivers import ConfigError
from gateway.core.consentsettings import ConsentSettings
from gateway.core.smssettings import SmsSettings
from gateway.core.timezones import canonical_zone

__all__ = [
    "ModemSettings",
    "WebhookSettings",
    "Settings",
    "load_settings",
    "served_url",
    "DEFAULT_CONFIG_FILE",
]

DEFAULT_CONFIG_FILE = "modemgate.toml"
_PORT_SCHEMES = ("socket://", "rfc2217://", "sim://", "loop://")


class ModemSettings(BaseModel):
    """One `[[modems]]` table."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    port: str
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    smsc: str | None = Field(default=None, pattern=r"^\+?\d{3,20}$")
    # Conservative defaults for a consumer SIM; see hardware.md for why operators block
    # faster senders. "unlimited" (no token bucket) is for simulated modems in benchmarks:
    # taken for sim:// ports, and for another port only with `not_a_sim = true`.
    sends_per_minute: float | Literal["unlimited"] = Field(default=6.0, union_mode="left_to_right")
    burst: int = Field(default=2, ge=1, le=100)
    daily_cap: int = Field(default=300, ge=0, le=1_000_000)  # 0: no cap
    # The day the daily cap counts (a SIM plan's day), as an IANA zone name.
    time_zone: str = "UTC"
    # The port is no SIM an operator watches (a simulator behind socket://, a test rig):
    # it may be set to send "unlimited".
    not_a_sim: bool = False
    enabled: bool = True
    # Seconds between listings of the modem's message storage (AT+CMGL), which hand over
    # what a lost +CMTI did not announce; None: every 60 s.
    storage_poll: float | None = Field(default=None, ge=1, le=86_400)
    # Append the AT exchange with this modem to this file (JSON lines, identifiers masked),
    # to attach to a bug report; see hardware.md.
    record: str | None = None
    # Recovery without a person (hardware.md): after `reset_after` failed reopenings in a
    # row the modem gets `reset_command`; after `recovery_command_after` more, the
    # operator's `recovery_command` runs (an argv list, or a string split like a shell
    # would but never run by one), for at most `recovery_timeout` seconds.
    reset_after: int = Field(default=3, ge=1, le=1000)
    reset_command: str = Field(default="AT+CFUN=1,1", pattern=r"^[Aa][Tt]\S[^\r\n]*$")
    recovery_command: list[str] | None = None
    recovery_command_after: int = Field(default=3, ge=1, le=1000)
    recovery_timeout: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("recovery_command", mode="before")
    @classmethod
    def _argv(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"recovery_command: {exc}") from None
        if isinstance(value, list) and not value:
            raise ValueError("recovery_command is empty")
        return value

    @property
    def imei(self) -> str | None:
        """`port = "imei:353142041234560"`: the modem is looked for by its IMEI among the
        serial ports present, wherever it is now."""
        return self.port[5:] if self.port.startswith("imei:") else None

    @field_validator("port")
    @classmethod
    def _port(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("port is empty")
        if "://" in value and not value.startswith(_PORT_SCHEMES):
            raise ValueError(f"port {value!r}: use a device path or one of {', '.join(_PORT_SCHEMES)}")
        if value.startswith("sim://"):
            _simulated_options(value)  # a bad ?profile= is an error at start, not later
        if value.startswith("imei:") and not re.fullmatch(r"imei:\d{14,16}", value):
            raise ValueError(f"port {value!r}: imei: takes the modem's 15-digit IMEI (AT+CGSN)")
        return value

    @field_validator("sends_per_minute")
    @classmethod
    def _rate(cls, value: float | str) -> float | str:
        if value != "unlimited" and not (isinstance(value, float | int) and 0 < value <= 600):
            raise ValueError('sends_per_minute is more than 0 and at most 600 (or "unlimited" for a simulated modem)')
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        canonical = canonical_zone(value)
        if canonical is None:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Amsterdam")
        return canonical

    @model_validator(mode="after")
    def _unlimited_only_without_a_sim(self) -> ModemSettings:
        if self.sends_per_minute == "unlimited" and not (self.simulated or self.not_a_sim):
            raise ValueError(
                f'modem {self.id!r}: sends_per_minute = "unlimited" is for simulated modems; '
                "a SIM sending that fast is blocked by its operator (set not_a_sim = true for a "
                "simulator behind this port)"
            )
        return self

    @property
    def rate(self) -> float:
        """Parts per minute for the pacer (math.inf: unlimited)."""
        return math.inf if self.sends_per_minute == "unlimited" else float(self.sends_per_minute)

    @property
    def simulated(self) -> bool:
        return self.port.startswith("sim://")

    @property
    def simulated_options(self) -> tuple[str | None, float | None]:
        """`sim://name?profile=huawei-e3372&noise_every=0.05`: the maker's habits the
        simulated modem has, and how often its periodic lines come (None: the profile's)."""
        if not self.simulated:
            return (None, None)
        name, noise, _ = _simulated_options(self.port)
        return name, noise

    @property
    def simulated_replay(self) -> str | None:
        """`sim://name?replay=FILE`: the recording the simulated modem answers like."""
        return _simulated_options(self.port)[2] if self.simulated else None


def _simulated_options(port: str) -> tuple[str | None, float | None, str | None]:
    from drivers.simulator.personalities import PERSONALITIES, personality  # only for sim:// ports

    query = {k: v[-1] for k, v in parse_qs(urlsplit(port).query).items()}
    unknown = set(query) - {"profile", "noise_every", "replay"}
    if unknown:
        raise ValueError(
            f"port {port!r}: sim:// takes ?profile=, &noise_every= and &replay=, not {', '.join(sorted(unknown))}"
        )
    replay = query.get("replay")
    if replay is not None:
        from drivers.simulator.replay import load_replay

        try:
            load_replay(replay)
        except (OSError, ValueError) as exc:
            raise ValueError(f"port {port!r}: replay: {exc}") from None
    name = query.get("profile")
    if name is not None and name not in PERSONALITIES:
        raise ValueError(f"port {port!r}: unknown profile {name!r}; known: {', '.join(PERSONALITIES)}")
    noise: float | None = None
    if "noise_every" in query:
        try:
            noise = float(query["noise_every"])
        except ValueError:
            noise = 0.0
        if not noise >= 0.01 or name is None or not personality(name).noise_urcs:
            raise ValueError(
                f"port {port!r}: noise_every takes seconds (0.01 or more) and a profile with periodic lines"
            )
    return name, noise, replay


_CLOCK = r"^([01][0-9]|2[0-4]):[0-5][0-9]$"  # HH:MM, 00:00 to 24:00


class CampaignSettings(BaseModel):
    """`[campaigns]`: the monthly segment quota, how campaigns are expanded, and the send
    window and frequency cap that new campaigns start with and that marketing sent through
    the API (`category` marketing) always keeps."""

    monthly_segment_quota: int = Field(default=0, ge=0)  # parts per calendar month (UTC); 0: no quota
    quota_warning: float = Field(default=0.6, gt=0, le=1)  # review warns from this share on
    expansion_batch: int = Field(default=2_000, ge=1, le=100_000)
    window_start: str = Field(default="10:00", pattern=_CLOCK)  # recipient local time
    window_end: str = Field(default="20:00", pattern=_CLOCK)  # 24:00: until midnight
    frequency_cap: int = Field(default=4, ge=0, le=1000)  # marketing messages per number; 0: no cap
    frequency_days: int = Field(default=7, ge=1, le=365)
    # Visits to a short link by one client (IP address + user agent) within this many
    # minutes are recorded as one click; 0: every visit.
    click_window_minutes: float = Field(default=10, ge=0, le=24 * 60)
    # The query parameter that carries the click id to the landing page (and back with a
    # conversion).
    click_id_parameter: str = Field(default="mg_click", pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")
    # Short links per brand: {"Acme" = "https://acme.link"}; other campaigns use public_url.
    link_domains: dict[str, str] = Field(default_factory=dict)
    # An A/B test's lead is significant when the two-proportion z-test's p is below this.
    ab_alpha: float = Field(default=0.05, gt=0, lt=1)

    @field_validator("link_domains")
    @classmethod
    def _link_domains(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for brand, url in value.items():
            url = url.strip().rstrip("/")
            if not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", url, re.IGNORECASE):
                raise ValueError(f"link_domains[{brand!r}] is an http:// or https:// address, e.g. https://acme.link")
            out[brand] = url
        return out

    @model_validator(mode="after")
    def _window(self) -> CampaignSettings:
        # A start after the end runs overnight; equal ends (or 00:00-24:00) mean no window.
        if self.window_start >= "24:00" or self.window_end > "24:00":
            raise ValueError(
                f"send window {self.window_start}-{self.window_end}: it starts at 00:00 to 23:59 and ends by 24:00"
            )
        return self


class WebhookSettings(BaseModel):
    """`[webhooks]`: where webhooks and callbacks may be posted, and how patiently.

    Private, loopback, link-local and other non-public targets are refused unless allowed
    here: `allow_networks = ["10.20.0.0/16"]` (CIDRs) or `allow_hosts = ["hooks.lan"]`
    (names, whatever they resolve to). See gateway.core.egress.
    """

    allow_networks: list[IPvAnyNetwork] = Field(default_factory=list)
    allow_hosts: list[str] = Field(default_factory=list)
    timeout: float = Field(default=15.0, gt=0, le=300)  # seconds per attempt, all included
    per_endpoint: int = Field(default=4, ge=1, le=64)  # attempts at once to one receiving server


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MODEMGATE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database_url: str = "sqlite:///modemgate.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    default_region: str = Field(default="NL", pattern=r"^[A-Z]{2}$")
    # Base of tracked short links, as phones reach the gateway (e.g. https://sms.example.com).
    # Not set: the address served (`served_url`), which review flags when it is loopback.
    public_url: str = ""
    simulated_modems: int = Field(default=2, ge=0, le=1024)  # used when no [[modems]] are given
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_import_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)  # CSV/JSON bulk imports
    modems: list[ModemSettings] = Field(default_factory=list)
    # STOP/START/HELP words and replies, the account's time zone: [consent] in the file.
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    # National shift tables and transliteration: [sms] in the file (gateway/core/smssettings.py).
    sms: SmsSettings = Field(default_factory=SmsSettings)
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    # On SIGTERM/SIGINT: seconds to let the messages in hand finish (every AT+CMGS in
    # flight answered and committed) before the process exits; see Gateway.stop.
    drain_timeout: float = Field(default=30.0, ge=0, le=3600)
    # Who this gateway is among those sharing a PostgreSQL database (default: the host
    # name), and how long its hold on its modem ids outlives it (gateway.core.ownership).
    node_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    modem_lease: float = Field(default=30.0, ge=1, le=3600)
    # Logs on stderr: "text" lines or "json" (one object per line, for journald/Loki).
    # Below DEBUG, phone numbers in log lines are masked (gateway.core.logs).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How long a claimed message stays with its sender without news (each sent part renews
    # it): a node that dies holding a message gives it up to the others after this. Keep
    # it above the slowest AT+CMGS of real modems (60 s): a shorter lease is for instant
    # simulated modems.
    message_lease: float = Field(default=300.0, ge=5, le=3600)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", value):
            raise ValueError("database_url must start with sqlite:// or postgresql+psycopg://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value

    _public_url_follows_served: bool = PrivateAttr(default=False)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", value, re.IGNORECASE):
            raise ValueError("public_url is an http:// or https:// address, e.g. https://sms.example.com")
        return value

    @model_validator(mode="after")
    def _follow_served(self) -> Settings:
        if not self.public_url:
            self.public_url = served_url(self.host, self.port)
            self._public_url_follows_served = True
        return self

    @model_validator(mode="after")
    def _unique_modems(self) -> Settings:
        seen: set[str] = set()
        for modem in self.modems:
            if modem.id in seen:
                raise ValueError(f"modem id {modem.id!r} is used twice")
            seen.add(modem.id)
        return self

    def effective_modems(self) -> list[ModemSettings]:
        """The configured modems, or the simulated ones when none are configured."""
        if self.modems:
            return list(self.modems)
        return [ModemSettings(id=f"sim{i}", port=f"sim://sim{i}") for i in range(1, self.simulated_modems + 1)]

    # The file's values come in as init values: the environment beats them. On the command
    # line (`_CommandLine`) explicit values are options, and they beat the environment.
    _options_win: ClassVar[bool] = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins; defaults come last.
        return (init_settings, env_settings) if cls._options_win else (env_settings, init_settings)


class _CommandLine(Settings):
    """Settings whose explicit values (command-line options) beat the environment."""

    _options_win = True


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from `path` (or ./modemgate.toml if it exists) and the environment.

    `overrides` (e.g. from command-line options) beat both. Raises ConfigError.
    """
    data: dict[str, Any] = {}
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG_FILE)
    if path is not None and not file.exists():
        raise ConfigError(f"settings file {file} does not exist")
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        settings = Settings(**data)
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            values = settings.model_dump()
            if settings._public_url_follows_served:
                del values["public_url"]  # follows --host and --port too
            settings = _CommandLine(**{**values, **given})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file if file.exists() else None)) from None
    return settings


def served_url(host: str, port: int) -> str:
    """The gateway's own address as a base URL: what `public_url` is when not set.

    Bound to every interface (`0.0.0.0`, `::`), the machine's name (its FQDN) stands for it;
    a loopback address stays what it is (review then reports links no phone can open).
    """
    name = host.strip().strip("[]")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if not name or (address is not None and address.is_unspecified):
        name = socket.getfqdn()
    elif address is not None and address.version == 6:
        name = f"[{name}]"
    return f"http://{name}:{port}" if port != 80 else f"http://{name}"


def _describe(exc: ValidationError, file: Path | None) -> str:
    where = f"{file}: " if file else ""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "settings"
        problems.append(f"{loc}: {err['msg']}")
    return where + "invalid settings — " + "; ".join(problems)
