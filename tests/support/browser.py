"""Headless Chromium from Debian's packages (`chromium`, `chromium-driver`), driven by
Selenium through the system chromedriver (so nothing is downloaded), and the console's
screenshots at desktop and phone width."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)

_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--lang=en-US",
)


def missing_hint() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing: apt-get install -y chromium chromium-driver"
    return None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """One headless browser with a fresh profile, closed afterwards."""
    hint = missing_hint()
    assert hint is None, hint
    profile = tempfile.mkdtemp(prefix="mg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in _FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot_dir() -> Path:
    """MODEMGATE_SCREENSHOTS (e.g. docs/screenshots) when set, else a temporary folder."""
    wanted = os.environ.get("MODEMGATE_SCREENSHOTS")
    path = Path(wanted) if wanted else Path(tempfile.gettempdir()) / "modemgate-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshots(driver: WebDriver, name: str) -> list[Path]:
    """The page as it is, at desktop and at phone width (whole page height)."""
    out = []
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(width, height)
        full = driver.execute_script(f"return Math.max(document.body.scrollHeight, {height})")
        driver.set_window_size(width, min(int(full) + 120, 4000))
        path = screenshot_dir() / f"{name}-{label}.png"
        assert driver.save_screenshot(str(path)) and path.stat().st_size > 0, path
        out.append(path)
    driver.set_window_size(*DESKTOP)
    return out
