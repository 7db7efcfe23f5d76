"""Settings: file, environment and command line, and one clear error for bad values."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from drivers import ConfigError
from gateway.core.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "modemgate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_sqlite_and_two_simulated_modems(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite:///modemgate.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert [m.port for m in settings.effective_modems()] == ["sim://sim1", "sim://sim2"]


def test_file_modems_replace_the_simulated_ones(tmp_path):
    path = write(
        tmp_path,
        '[[modems]]\nid = "huawei-1"\nport = "/dev/serial/by-id/usb-HUAWEI-if00-port0"\npin = "1234"\n'
        "sends_per_minute = 10\nburst = 3\ndaily_cap = 500\n",
    )
    modems = load_settings(path).effective_modems()
    assert len(modems) == 1
    assert (modems[0].id, modems[0].pin, modems[0].sends_per_minute, modems[0].burst, modems[0].daily_cap) == (
        "huawei-1",
        "1234",
        10,
        3,
        500,
    )


def test_environment_overrides_file_and_command_line_overrides_both(tmp_path, monkeypatch):
    path = write(tmp_path, 'port = 8100\ndefault_region = "DE"\n')
    monkeypatch.setenv("MODEMGATE_PORT", "8200")
    assert load_settings(path).port == 8200
    assert load_settings(path).default_region == "DE"
    assert load_settings(path, port=8300).port == 8300


def test_public_url_follows_the_address_served_unless_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings().public_url == "http://127.0.0.1:8000"
    assert load_settings(port=9000).public_url == "http://127.0.0.1:9000"
    # Bound to every interface: the machine's name, never 0.0.0.0.
    assert load_settings(host="0.0.0.0", port=9000).public_url == f"http://{socket.getfqdn()}:9000"
    assert load_settings(host="::", port=9000).public_url == f"http://{socket.getfqdn()}:9000"
    assert load_settings(host="::1", port=9000).public_url == "http://[::1]:9000"
    path = write(tmp_path, 'public_url = "https://sms.example.com/"\nport = 8100\n')
    assert load_settings(path, port=9000).public_url == "https://sms.example.com"
    monkeypatch.setenv("MODEMGATE_PUBLIC_URL", "https://go.example")
    assert load_settings(host="0.0.0.0", port=9000).public_url == "https://go.example"


def test_public_url_must_be_an_http_address(tmp_path):
    with pytest.raises(ConfigError, match="public_url"):
        load_settings(write(tmp_path, 'public_url = "sms.example.com"\n'))


def test_plain_postgresql_url_gets_the_psycopg_driver(tmp_path):
    path = write(tmp_path, 'database_url = "postgresql://u@127.0.0.1/test"\n')
    assert load_settings(path).database_url == "postgresql+psycopg://u@127.0.0.1/test"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[[modems]]\nid = "a b"\nport = "/dev/ttyUSB0"\n', "modems.0.id"),
        ('[[modems]]\nid = "m1"\nport = "http://example"\n', "modems.0.port"),
        ('[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\nsends_per_minute = 0\n', "sends_per_minute"),
        ('[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\npin = "12"\n', "modems.0.pin"),
        ('[[modems]]\nid = "m1"\nport = "a"\n[[modems]]\nid = "m1"\nport = "b"\n', "used twice"),
        ('database_url = "mysql://x"\n', "database_url"),
        ("unknown_key = 1\n", "unknown_key"),
        ("port = [\n", "not valid TOML"),
        ('[campaigns]\nwindow_start = "24:00"\n', "send window 24:00-20:00"),
        ('[[modems]]\nid = "m1"\nport = "sim://m1?profile=nokia"\n', "unknown profile 'nokia'; known: huawei-e173"),
        (
            '[[modems]]\nid = "m1"\nport = "sim://m1?speed=9"\n',
            "sim:// takes ?profile=, &noise_every= and &replay=, not speed",
        ),
        ('[[modems]]\nid = "m1"\nport = "sim://m1?replay=/nonexistent/modem.jsonl"\n', "replay: [Errno 2]"),
        ('[[modems]]\nid = "m1"\nport = "imei:35314"\n', "15-digit IMEI"),
        ('[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\nrecovery_command = ""\n', "recovery_command is empty"),
        ('[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\nreset_command = "reboot"\n', "reset_command"),
        ('[[modems]]\nid = "m1"\nport = "sim://m1?noise_every=0.1"\n', "a profile with periodic lines"),
        ('[[modems]]\nid = "m1"\nport = "sim://m1?profile=huawei-e173&noise_every=x"\n', "noise_every takes seconds"),
        ('[campaigns]\nwindow_end = "8pm"\n', "campaigns.window_end"),
        ("[campaigns]\nfrequency_days = 0\n", "campaigns.frequency_days"),
    ],
)
def test_invalid_settings_are_one_clear_error_naming_the_key(tmp_path, toml, named):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, toml))
    assert named in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_settings_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_sms_languages_and_transliteration_are_off_unless_set(tmp_path):
    settings = load_settings(write(tmp_path, ""))
    assert (settings.sms.languages, settings.sms.transliterate) == ([], False)
    settings = load_settings(write(tmp_path, '[sms]\nlanguages = ["TR", "es", "tr"]\ntransliterate = true\n'))
    assert (settings.sms.languages, settings.sms.transliterate) == (["tr", "es"], True)


def test_an_sms_language_without_a_table_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no national shift table for xx"):
        load_settings(write(tmp_path, '[sms]\nlanguages = ["tr", "xx"]\n'))


def _modem_file(tmp_path: Path, **keys: str) -> Path:
    lines = ["[[modems]]", 'id = "m1"'] + [f"{k} = {v}" for k, v in keys.items()]
    path = tmp_path / "modemgate.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("keys", "rate"),
    [
        ({"port": '"sim://m1"', "sends_per_minute": '"unlimited"'}, float("inf")),
        ({"port": '"socket://127.0.0.1:7000"', "sends_per_minute": '"unlimited"', "not_a_sim": "true"}, float("inf")),
        ({"port": '"/dev/ttyUSB0"', "sends_per_minute": "600"}, 600.0),
    ],
)
def test_unlimited_sending_is_for_simulated_modems(tmp_path, keys, rate):
    assert load_settings(_modem_file(tmp_path, **keys)).modems[0].rate == rate


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"port": '"/dev/ttyUSB0"', "sends_per_minute": '"unlimited"'}, "not_a_sim"),  # a real SIM: refused
        ({"port": '"socket://127.0.0.1:7000"', "sends_per_minute": '"unlimited"'}, "not_a_sim"),
        ({"port": '"/dev/ttyUSB0"', "sends_per_minute": "601"}, "sends_per_minute"),
        ({"port": '"sim://m1"', "sends_per_minute": '"fast"'}, "sends_per_minute"),
        ({"port": '"/dev/ttyUSB0"', "time_zone": '"Mars/Olympus"'}, "time_zone"),
    ],
)
def test_bad_pacing_settings_are_one_clear_error(tmp_path, keys, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(_modem_file(tmp_path, **keys))


def test_a_modems_time_zone_is_stored_in_its_canonical_spelling(tmp_path):
    path = _modem_file(tmp_path, port='"/dev/ttyUSB0"', time_zone='"africa/lagos"')
    assert load_settings(path).modems[0].time_zone == "Africa/Lagos"
