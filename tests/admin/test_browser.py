"""One browser run through the back office with Playwright driving the system Chromium.

Screenshots land in the temp directory (or SCREENSHOT_DIR) for a person to look at.
"""

import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from commerce_hq.parameters.models import ParameterVersion
from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import GiftCard
from tests.conftest import REQUIRE_SERVICES
from tests.factories import RegisterFactory, issue_card, issue_memo

try:
    from playwright import sync_api
except ImportError:
    sync_api = None

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or tempfile.gettempdir())
OFFLINE_SWITCH = "Allow concluding gift card transactions in offline mode"


def _missing(what: str) -> None:
    message = f"needs {what}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " — REQUIRE_SERVICES=1 turns this skip into a failure")
    pytest.skip(message)


@pytest.fixture
def browser_page():
    if sync_api is None:
        _missing("the playwright package (pip install -r requirements.txt)")
    if not os.path.exists(CHROMIUM):
        _missing(f"Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(15_000)
        yield page
        browser.close()


@pytest.fixture
def back_office(transactional_db):
    register = RegisterFactory(code="REG1")
    other = RegisterFactory(channel=register.channel, code="REG2")
    issue_card(register, "100.00", number="6012000011112222")
    issue_memo(register, "40.00")
    for number, reg, minutes in (("6012000033334444", other, 45), ("6012000055556666", register, 25)):
        issue_card(reg, "60.00", number=number)
        services.gift_card_lock(number=number, register=reg, transaction_id=f"T-{number[-4:]}")
        GiftCard.objects.filter(number=number).update(locked_at=timezone.now() - timedelta(minutes=minutes))
    return User.objects.create_superuser("backoffice", password="a-long-test-password")


def switch_text(page, name: str) -> str:
    """The Yes/No the switch shows beside itself (drawn by CSS from the checkbox state)."""
    return page.evaluate(
        "name => getComputedStyle(document.querySelector(`#row-${name} .switch-state`), '::before').content", name
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_switch_gift_card_offline_conclusion_on(live_server, back_office, browser_page):
    page = browser_page
    # given: logged in
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "backoffice")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.screenshot(path=str(SHOTS / "admin_index.png"), full_page=True)
    # when: Commerce parameters → DEMO → Posting → Gift card
    page.click("#tools-commerce-parameters")
    page.click("#legal-entity-DEMO")
    assert page.is_visible("#panel-general") and not page.is_visible("#panel-posting")
    page.click("#tab-posting")
    assert page.get_attribute("#fasttab-gift-card-toggle", "aria-expanded") == "true"
    page.click("#fasttab-credit-memo-toggle")
    assert not page.is_visible("#fasttab-credit-memo-body")
    page.click("#fasttab-credit-memo-toggle")
    switch = page.get_by_label(OFFLINE_SWITCH)
    assert not switch.is_checked()
    switch.check()
    assert switch_text(page, "gift_card_allow_offline_conclusion") == '"Yes"'
    assert switch_text(page, "credit_memo_allow_offline_conclusion") == '"No"'
    page.screenshot(path=str(SHOTS / "admin_parameters_posting.png"), full_page=True)
    page.click("#cp-save")
    # then: the new version is saved and shown
    page.wait_for_selector("#version-2")
    assert "Saved version 2" in page.inner_text("ul.messagelist")
    assert f"{OFFLINE_SWITCH}: No → Yes" in page.inner_text("#version-2")
    assert page.is_visible("#panel-posting") and page.get_by_label(OFFLINE_SWITCH).is_checked()
    page.screenshot(path=str(SHOTS / "admin_parameters_saved.png"), full_page=True)
    saved = ParameterVersion.objects.get(version=2)
    assert saved.changed_by.username == "backoffice" and saved.source == "admin"
    # and the gift card list and the stuck-locks view render
    page.goto(f"{live_server.url}/admin/stored_value/giftcard/")
    assert "…2222" in page.inner_text("#result_list") and "6012000011112222" not in page.content()
    page.screenshot(path=str(SHOTS / "admin_gift_cards.png"), full_page=True)
    page.click("#stuck-locks-link")
    rows = page.locator("tr.stuck-lock").all_inner_texts()
    assert len(rows) == 2 and "…4444" in rows[0] and "…6666" in rows[1]
    page.screenshot(path=str(SHOTS / "admin_stuck_locks.png"), full_page=True)
    page.locator("a.release-link").first.click()
    assert "…4444" in page.inner_text("#reason-targets") and page.is_visible("#id_reason")
    page.screenshot(path=str(SHOTS / "admin_release_lock.png"), full_page=True)
