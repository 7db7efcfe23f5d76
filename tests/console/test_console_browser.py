"""The console in headless Chromium against a real `modemgate serve` with its two default
simulated modems: what an operator, a marketer and a viewer do in a browser.

One gateway and one browser for the module; the tests run in file order and build on each
other (contacts imported first are the campaign's audience). Screenshots of each page, at
desktop and phone width, go to MODEMGATE_SCREENSHOTS (else a temporary folder).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Iterator

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from harness.command import MODEMGATE
from harness.livegateway import GatewayProcess, ModemSpec
from tests.support.browser import chromium, screenshots

pytestmark = pytest.mark.slow

PASSWORD = "a long enough password"
ANNA, BEN = "+31612345001", "+31612345002"


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("console")
    gateway = GatewayProcess(
        workdir,
        f"sqlite:///{workdir / 'modemgate.db'}",
        [ModemSpec("sim1", "sim://sim1", sends_per_minute=600), ModemSpec("sim2", "sim://sim2", sends_per_minute=600)],
        # A literal documentation address: links are checked without DNS (a warning, not an error).
        settings={"public_url": "http://192.0.2.10"},
        extra='[campaigns]\nwindow_start = "00:00"\nwindow_end = "24:00"\n\n[webhooks]\nallow_networks = ["127.0.0.1/32"]\n',
    )
    _create_users(gateway, {"olga": "admin", "vera": "viewer"})
    gateway.start()
    gateway.wait_ready(["sim1", "sim2"])
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def _create_users(gw: GatewayProcess, roles: dict[str, str]) -> None:
    """`modemgate user create` for each, side by side (each start of the command costs seconds)."""
    procs = [
        subprocess.Popen(
            [*MODEMGATE, "user", "create", name, "--role", role, "--config", str(gw.config)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=gw.workdir,
        )
        for name, role in roles.items()
    ]
    for proc in procs:
        _, err = proc.communicate(PASSWORD + "\n", timeout=60)
        assert proc.returncode == 0, err


def wait(driver: WebDriver, condition, timeout: float = 15, what: str = "") -> object:  # type: ignore[no-untyped-def]
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message=what)


def text_of(driver: WebDriver, css: str) -> str:
    """The element's text; "" while it is missing or being replaced by a live refresh."""
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""
    except WebDriverException as exc:
        # Chromium's form of a stale element when the page is swapped mid-read (a redirect).
        if "does not belong to the document" in str(exc):
            return ""
        raise


def click(driver: WebDriver, by: str, what: str) -> None:
    """Click an element that a live refresh may replace between finding and clicking it."""
    wait(driver, lambda d: _clicked(d, by, what), what=f"to click {what}")


def _clicked(driver: WebDriver, by: str, what: str) -> bool:
    try:
        driver.find_element(by, what).click()
        return True
    except StaleElementReferenceException:
        return False


def log_in(driver: WebDriver, gw: GatewayProcess, name: str, password: str = PASSWORD, next_path: str = "/") -> None:
    driver.get(f"{gw.url}/login?next={next_path}")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()


def test_login_then_dashboard_shows_both_simulated_modems_with_signal(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/messages")
    assert "/login" in browser.current_url  # not signed in: the login form, coming back here after
    screenshots(browser, "login")
    log_in(browser, gw, "olga", next_path="/")
    wait(browser, lambda d: d.find_elements(By.ID, "modem-sim2"), what="the dashboard")
    browser.execute_script("window.__loaded = 1")
    for modem in ("sim1", "sim2"):
        wait(browser, lambda d, m=modem: "dBm" in text_of(d, f"#modem-{m} [data-field=signal]"), what=f"{modem} signal")
        assert text_of(browser, f"#modem-{modem} [data-field=state]").startswith("ready")
        bars = browser.execute_script(
            "return document.querySelector(arguments[0]).getAttribute('aria-label')", f"#modem-{modem} .bars"
        )
        assert bars and bars.endswith("of 4 bars") and not bars.startswith("0 ")
    screenshots(browser, "dashboard")
    click(browser, By.LINK_TEXT, "sim1")
    wait(browser, lambda d: d.find_elements(By.ID, "at-errors"), what="the modem page")
    assert "No AT errors" in text_of(browser, "#at-errors")
    assert browser.find_elements(By.XPATH, "//button[normalize-space()='Re-probe sim1']")  # an admin's action
    screenshots(browser, "modem")


def test_send_from_the_page_and_watch_it_become_delivered(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/messages/send")
    browser.find_element(By.ID, "to").send_keys("+31612340000")
    browser.find_element(By.ID, "text").send_keys("Order 12 ready, cost 5€ — tak ą")
    wait(browser, lambda d: "ą" in text_of(d, "#ucs2-forcing"), what="the counter naming ą")
    forcing = text_of(browser, "#ucs2-forcing")
    assert "U+0105" in forcing and "€" not in forcing  # € is in GSM-7's extension table
    assert "UCS-2" in text_of(browser, "#estimate-summary")
    screenshots(browser, "send")
    browser.find_element(By.ID, "send").click()
    wait(browser, lambda d: d.find_elements(By.ID, "status"), what="the message page")
    browser.execute_script("window.__loaded = 'message'")
    wait(browser, lambda d: text_of(d, "#status") == "delivered", timeout=20, what="delivered")
    assert browser.execute_script("return window.__loaded") == "message"  # no reload: the status came in place
    screenshots(browser, "message")
    browser.get(gw.url + "/messages")
    assert "delivered" in text_of(browser, "#message-list")
    screenshots(browser, "messages")


def test_csv_import_shows_the_bad_row_error(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/contacts")
    csv = f"number,first_name,city\n{ANNA},Anna,Utrecht\n{BEN},Ben,Delft\nnot a number,Carl,Ede\n"
    browser.find_element(By.ID, "csv_text").send_keys(csv)
    browser.find_element(By.ID, "list_name").send_keys("Winter")
    browser.find_element(By.ID, "consent_source").send_keys("shop sign-up form")
    browser.find_element(By.ID, "import").click()
    wait(browser, lambda d: d.find_elements(By.ID, "import-result"), what="the import result")
    assert "2 created" in text_of(browser, "#import-result")
    rows = browser.find_elements(By.CSS_SELECTOR, "#import-errors tbody tr")
    assert len(rows) == 1
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[0] == "3" and cells[1] == "not a number" and cells[2] == "number"
    assert "opt-in" in text_of(browser, "#contact-list")
    screenshots(browser, "contacts")
    browser.get(gw.url + "/lists")
    assert "Winter" in text_of(browser, "#lists")  # the list the import made
    screenshots(browser, "lists")


def test_campaign_create_preview_test_schedule_progress_funnel(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/campaigns/new")
    browser.find_element(By.ID, "name").send_keys("Winter sale")
    area = browser.find_element(By.ID, "template")
    area.send_keys("Hi")
    browser.find_element(By.CSS_SELECTOR, "[data-insert^='{{first_name']").click()
    area.send_keys(", 20% off today:")
    browser.find_element(By.ID, "link-url").send_keys("https://shop.example/sale")
    browser.find_element(By.ID, "insert-link").click()
    assert area.get_attribute("value") == "Hi {{first_name|there}}, 20% off today: https://shop.example/sale"
    Select(browser.find_element(By.ID, "preview-contact")).select_by_visible_text(f"{ANNA} · Anna")
    wait(
        browser,
        lambda d: "Hi Anna, 20% off today: http://192.0.2.10/r/" in text_of(d, "#draft-preview-text"),
        what="the live preview for Anna",
    )
    area.send_keys(" now")  # typing again updates it
    wait(browser, lambda d: "x now" in text_of(d, "#draft-preview-text"), what="the preview following the typing")
    browser.find_element(By.XPATH, "//label[contains(., 'Winter')]/input").click()
    screenshots(browser, "campaign-new")
    browser.find_element(By.ID, "create-campaign").click()

    wait(browser, lambda d: d.find_elements(By.ID, "previews"), what="the campaign page")
    previews = text_of(browser, "#previews")
    assert "Hi Anna, 20% off today: http://192.0.2.10/r/" in previews
    assert "Hi Ben, 20% off today:" in previews
    browser.find_element(By.ID, "test-numbers").send_keys("+31612349999")
    browser.find_element(By.ID, "test-send").click()
    wait(browser, lambda d: d.find_elements(By.ID, "test-sent"), what="the test send")
    browser.find_element(By.ID, "review").click()
    wait(browser, lambda d: d.find_elements(By.ID, "review-result"), what="the review")
    assert "ready to schedule" in text_of(browser, "#review-result")
    screenshots(browser, "campaign-review")
    Select(browser.find_element(By.ID, "kind")).select_by_value("now")
    browser.execute_script("window.__review = 1")
    browser.find_element(By.ID, "schedule").click()
    # The review page has a progress panel too: wait for the page the schedule leads to.
    wait(
        browser,
        lambda d: d.execute_script("return window.__review") is None and d.find_elements(By.ID, "progress"),
        what="the scheduled campaign",
    )
    browser.execute_script("window.__loaded = 'campaign'")
    wait(browser, lambda d: "delivered 2" in text_of(d, "#progress-line"), timeout=30, what="two delivered")
    assert browser.execute_script("return window.__loaded") == "campaign"  # progress came without a reload
    title = browser.execute_script("return document.querySelector('#funnel title').textContent")
    assert "Audience 2" in title and "Sent 2" in title and "Delivered 2" in title
    screenshots(browser, "campaign")
    browser.get(gw.url + "/campaigns")
    screenshots(browser, "campaigns")


def test_inbound_reply_appears_in_the_inbox_and_is_answered(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/inbox")
    browser.execute_script("window.__loaded = 'inbox'")
    r = gw.client.post(
        "/v1/simulator/inbound", json={"modem": "sim1", "from": ANNA, "text": "Is the red one in stock?"}
    )
    assert r.status_code == 202, r.text
    wait(browser, lambda d: "Is the red one in stock?" in text_of(d, "#threads"), timeout=15, what="the reply")
    assert browser.execute_script("return window.__loaded") == "inbox"
    assert browser.find_elements(By.CSS_SELECTOR, "#threads li.unread .badge")
    screenshots(browser, "inbox")
    click(browser, By.PARTIAL_LINK_TEXT, ANNA)
    wait(browser, lambda d: d.find_elements(By.ID, "reply"), what="the conversation")
    browser.find_element(By.ID, "reply").send_keys("Yes, size M and L.")
    browser.find_element(By.ID, "send-reply").click()
    wait(browser, lambda d: "Yes, size M and L." in text_of(d, "#chat"), what="the answer in the thread")
    screenshots(browser, "conversation")
    browser.get(gw.url + "/messages?number=" + ANNA.replace("+", "%2B"))
    assert "Yes, size M and L." in text_of(browser, "#message-list")


def test_api_keys_are_shown_once(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/settings/keys")
    browser.find_element(By.ID, "key-name").send_keys("shop backend")
    browser.find_element(By.ID, "create-key").click()
    key = wait(browser, lambda d: text_of(d, "#new-key"), what="the new key")
    assert str(key).startswith("mg_")
    r = gw.client.get("/v1/modems", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200  # the key shown works
    browser.get(gw.url + "/settings/keys")
    assert str(key) not in browser.page_source  # and is never shown again
    screenshots(browser, "keys")


def test_opt_out_from_the_page_and_see_webhook_deliveries(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.get(gw.url + "/optouts")
    browser.find_element(By.CSS_SELECTOR, "details.panel summary").click()
    browser.find_element(By.ID, "optout-number").send_keys(BEN)
    browser.find_element(By.ID, "optout-add").click()
    wait(browser, lambda d: d.find_elements(By.ID, "optout-added"), what="the opt-out")
    assert BEN in text_of(browser, "#optout-list")
    screenshots(browser, "optouts")
    r = gw.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["message.status"]})
    assert r.status_code == 201, r.text
    gw.client.post("/v1/messages", json={"to": "+31612340001", "text": "watched"}).raise_for_status()
    browser.get(gw.url + "/settings/webhooks")
    wait(
        browser,
        lambda d: d.refresh() or "message.status" in text_of(d, ".panel table"),
        timeout=10,
        what="a delivery listed",
    )
    screenshots(browser, "webhooks")


def test_viewer_sees_no_admin_actions_and_is_refused_them(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.delete_all_cookies()
    log_in(browser, gw, "vera")
    wait(browser, lambda d: d.find_elements(By.ID, "modem-sim1"), what="the dashboard")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action^='/modems/']")
    assert not browser.find_elements(By.LINK_TEXT, "API keys")
    browser.get(gw.url + "/settings/keys")
    assert "lacks the 'admin' scope" in text_of(browser, "#error-message")
    browser.get(gw.url + "/messages")
    assert not browser.find_elements(By.ID, "new-message")


def test_five_wrong_passwords_are_slowed_down(browser: WebDriver, gw: GatewayProcess) -> None:
    browser.delete_all_cookies()
    times = []
    for _ in range(5):
        browser.get(gw.url + "/login")
        start = time.monotonic()
        browser.find_element(By.ID, "username").send_keys("olga")
        browser.find_element(By.ID, "password").send_keys("not the password")
        browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait(browser, lambda d: d.find_elements(By.ID, "login-error"), what="the refusal")
        times.append(time.monotonic() - start)
    assert "Wrong user name or password" in text_of(browser, "#login-error")
    # The fifth answer waits a second more than the others (the in-process tests pin the delays).
    assert times[4] >= 1.0 and times[4] > statistics.median(times[:4]) + 0.8, times
    screenshots(browser, "login-refused")
