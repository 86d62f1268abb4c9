"""django-akamai's Wagtail admin views in headless Chromium (Selenium), against pytest-django's
live server; purges travel over real HTTP to the emulator.

Screenshots are saved under test-artifacts/ (``wagtail-*.png``). Uses the browser fixtures
of ``tests/test_browser.py`` (through ``conftest.py``): skipped without Chromium unless
AKAMAI_TEST_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.test_browser import screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "wagtail-browser-password"
WWW = "https://www.example.com"
BLOG = "https://blog.example.org"


def log_in(driver, live_server) -> None:
    from django.contrib.auth.models import User
    from selenium.webdriver.common.by import By

    User.objects.create_superuser("editor", "editor@example.com", PASSWORD)
    driver.get(f"{live_server.url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys("editor")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, By.CSS_SELECTOR, "[data-side-panel-toggle], .sidebar, #wagtail-sidebar")


def click(driver, by, selector: str) -> None:
    """Click the element once it takes the click: Wagtail's menus slide in (a count of
    attempts, not a time, bounds the wait)."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    def clicked(d) -> bool:
        try:
            wait_for(d, by, selector)[0].click()
        except (ElementClickInterceptedException, ElementNotInteractableException):
            return False
        return True

    WebDriverWait(driver, 20, poll_frequency=0.2).until(clicked)


def open_akamai_menu_item(driver, label: str) -> None:
    """Through the sidebar, as an editor does: the "Akamai" submenu, then the item."""
    from selenium.webdriver.common.by import By

    click(driver, By.XPATH, "//nav//button[.//*[normalize-space(text())='Akamai']]")
    click(driver, By.XPATH, f"//nav//a[.//*[normalize-space(text())='{label}']]")


def shown_messages(driver) -> list[str]:
    """The messages of the page a click leads to, once shown (they fade in: hidden, their
    text reads empty)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def texts(d) -> list[str] | None:
        shown = [li.text for li in d.find_elements(By.CSS_SELECTOR, ".messages li")]
        return shown if shown and all(shown) else None

    return WebDriverWait(driver, 20, poll_frequency=0.2).until(texts)


def test_the_wagtail_admin_shows_status_history_and_intents(
    site_tree, browser_session, live_server, akamai_emulator, emulator_purges
):
    from selenium.webdriver.common.by import By

    driver = browser_session
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    with transaction.atomic():
        site_tree.about.save_revision().publish()  # accepted
        site_tree.news.save_revision().publish()  # blog.example.org: refused, kept as failed
    log_in(driver, live_server)

    open_akamai_menu_item(driver, "Status")
    wait_for(driver, By.ID, "akamai-status")
    assert driver.find_element(By.CSS_SELECTOR, "#akamai-failed .value").text == "1"
    assert driver.find_element(By.CSS_SELECTOR, "#akamai-requests .value").text == "1"
    screenshot(driver, "wagtail-akamai-status.png")

    open_akamai_menu_item(driver, "Purge history")
    rows = wait_for(driver, By.CSS_SELECTOR, "table.listing tbody tr")
    # The request Akamai refused, then its halves: the www URL accepted, the blog's refused.
    statuses = [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]
    assert sorted(statuses) == ["accepted", "failed", "failed"]
    [accepted] = [p for p in emulator_purges()]
    assert any(accepted["purgeId"] in row.text for row in rows)
    screenshot(driver, "wagtail-akamai-history.png")

    open_akamai_menu_item(driver, "Purge intents")
    [row] = wait_for(driver, By.CSS_SELECTOR, "#akamai-intents tbody tr")
    assert f"{BLOG}/news/" in row.text and "403" in row.text and "unauthorized arl" in row.text
    screenshot(driver, "wagtail-akamai-intents-failed.png")

    akamai_emulator.configure(allowed_hosts=None)  # the operator fixed the account
    row.find_element(By.CSS_SELECTOR, "input[name=ids]").click()
    driver.find_element(By.CSS_SELECTOR, "button[name=action][value=retry]").click()
    assert "1 failed purge(s) will be delivered again." in shown_messages(driver)[0]
    screenshot(driver, "wagtail-akamai-intents-retried.png")
    assert emulator_purges()[-1]["objects"] == [f"{BLOG}/news/"]


def test_purge_from_cdn_in_the_page_header(
    site_tree, browser_session, live_server, akamai_emulator, emulator_purges
):
    from selenium.webdriver.common.by import By

    driver = browser_session
    log_in(driver, live_server)
    driver.get(f"{live_server.url}/admin/pages/{site_tree.blog.pk}/edit/")
    purge_url = f"/admin/akamai/pages/{site_tree.blog.pk}/purge/"
    # The header's "more" menu holds the page's actions.
    [toggle] = wait_for(
        driver, By.CSS_SELECTOR, "header [data-controller~='w-dropdown'] button[aria-label]"
    )
    toggle.click()
    [link] = wait_for(driver, By.CSS_SELECTOR, f"a[href^='{purge_url}']")
    screenshot(driver, "wagtail-page-actions.png")
    link.click()

    wait_for(driver, By.ID, "akamai-purge-page")
    driver.find_element(By.CSS_SELECTOR, "input[name=scope][value=subtree]").click()
    screenshot(driver, "wagtail-purge-from-cdn.png")
    driver.find_element(By.CSS_SELECTOR, "#akamai-purge-page button[type=submit]").click()
    assert "Purge of 'Blog' and its 1 live descendant(s) recorded" in shown_messages(driver)[0]
    screenshot(driver, "wagtail-purge-from-cdn-done.png")
    assert sorted(emulator_purges()[-1]["objects"]) == [
        f"{WWW}/blog/",
        f"{WWW}/blog/feed/",
        f"{WWW}/blog/post/",
    ]


def test_an_editor_publishing_a_page_with_a_failed_purge_is_told(
    site_tree, browser_session, live_server, akamai_emulator, settings
):
    from selenium.webdriver.common.by import By

    driver = browser_session
    akamai_emulator.configure(allowed_hosts=["blog.example.org"])
    with transaction.atomic():
        site_tree.about.save_revision().publish()  # refused: www.example.com
    settings.AKAMAI_DELIVERY = "worker"  # the new publish's purge waits for a deliverer
    log_in(driver, live_server)
    driver.get(f"{live_server.url}/admin/pages/{site_tree.about.pk}/edit/")
    title = wait_for(driver, By.ID, "id_title")[0]
    title.clear()
    title.send_keys("About us")
    # "Publish" sits in the footer's action menu, behind its toggle.
    toggle = driver.find_element(By.CSS_SELECTOR, "footer [data-w-dropdown-target='toggle']")
    toggle.click()
    publish = wait_for(driver, By.CSS_SELECTOR, "button[name=action-publish]")[0]
    driver.execute_script("arguments[0].click();", publish)
    shown = shown_messages(driver)
    screenshot(driver, "wagtail-publish-warning.png")
    assert any("has been published" in text for text in shown)
    assert any("Akamai refused 1 purge(s) of this page" in text for text in shown)
