"""The admin action and the "Purge URLs" page in headless Chromium (Selenium) against
pytest-django's live server; the purges travel over real HTTP to the emulator.

Screenshots are saved under test-artifacts/. Needs Debian's ``chromium`` and
``chromium-driver``; skipped without them unless AKAMAI_TEST_REQUIRE_BROWSER=1.
"""

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
)
PASSWORD = "browser-test-password"


def _require_browser():
    missing = [
        name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not path
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    reason = (
        f"browser tests need {', '.join(missing)} (apt-get install chromium "
        "chromium-driver; pip install selenium)"
    )
    if os.environ.get("AKAMAI_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; AKAMAI_TEST_REQUIRE_BROWSER=1 forbids skipping")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never downloads anything.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser_session(browser):
    """A browser with no cookies left from the previous test."""
    browser.delete_all_cookies()
    yield browser
    # Nothing may still be loading from the live server once the test database goes.
    browser.get("about:blank")


def make_staff(username, *codenames):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=("view_article", "change_article", "delete_article", *codenames)
        )
    )
    return user


def log_in(driver, live_server, username):
    from selenium.webdriver.common.by import By

    driver.get(f"{live_server.url}/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(driver, By.ID, "user-tools")  # the admin index, logged in


def wait_for(driver, by, selector):
    """Elements of the page a click leads to: a click does not wait for the next page."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20).until(lambda d: d.find_elements(by, selector))


def screenshot(driver, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 0
    return path


def messages(driver):
    """The admin messages of the page the last click leads to."""
    from selenium.webdriver.common.by import By

    items = wait_for(driver, By.CSS_SELECTOR, "ul.messagelist li")
    return [(li.get_attribute("class"), li.text) for li in items]


def test_purge_page_in_the_browser(browser_session, live_server, akamai_emulator):
    from selenium.webdriver.common.by import By

    driver, emu = browser_session, akamai_emulator
    make_staff("operator", "purge_cache")
    log_in(driver, live_server, "operator")

    driver.find_element(By.LINK_TEXT, "Purge URLs").click()  # from the admin index
    wait_for(driver, By.ID, "akamai-purge")
    assert driver.title.startswith("Purge URLs")
    driver.find_element(By.NAME, "urls").send_keys("/browser/one/\nhttps://www.example.com/two/")
    driver.find_element(By.NAME, "tags").send_keys("browser-tag")
    driver.find_element(By.CSS_SELECTOR, "input[name=action][value=invalidate]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=network][value=staging]").click()
    screenshot(driver, "admin-purge-page-form.png")
    driver.find_element(By.NAME, "_purge").click()

    shown = messages(driver)
    screenshot(driver, "admin-purge-page.png")
    by_type = {p.type: p for p in emu.purges}
    assert list(by_type["url"].objects) == [
        "https://www.example.com/browser/one/",
        "https://www.example.com/two/",
    ]
    assert list(by_type["tag"].objects) == ["browser-tag"]
    assert {(p.action, p.network) for p in emu.purges} == {("invalidate", "staging")}
    url_message = next(text for cls, text in shown if "URL(s)" in text)
    assert by_type["url"].purge_id in url_message
    assert "Estimated seconds" in url_message
    assert all("success" in cls for cls, _ in shown)

    driver.find_element(By.CSS_SELECTOR, ".object-tools a[href$='/purgerecord/']").click()
    rows = wait_for(driver, By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 2
    assert any(by_type["url"].purge_id in row.text for row in rows)
    screenshot(driver, "admin-purge-history.png")


def test_purge_action_in_the_browser(browser_session, live_server, akamai_emulator):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.testapp.models import Article

    driver, emu = browser_session, akamai_emulator
    make_staff("operator2", "purge_cache")
    articles = [Article.objects.create(slug=f"story-{i}", title=f"Story {i}") for i in range(3)]
    log_in(driver, live_server, "operator2")

    driver.get(f"{live_server.url}/admin/testapp/article/")
    for article in articles[:2]:
        driver.find_element(
            By.CSS_SELECTOR, f"input[name=_selected_action][value='{article.pk}']"
        ).click()
    Select(driver.find_element(By.NAME, "action")).select_by_value("purge_from_akamai")
    driver.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    shown = messages(driver)
    screenshot(driver, "admin-purge-action.png")
    [purge] = emu.purges
    assert sorted(purge.objects) == [
        "https://www.example.com/articles/story-0/",
        "https://www.example.com/articles/story-1/",
    ]
    assert any(purge.purge_id in text for _, text in shown)


def test_staff_without_the_permission_is_refused(browser_session, live_server, akamai_emulator):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.testapp.models import Article

    driver = browser_session
    make_staff("editor")
    Article.objects.create(slug="no-purge")
    log_in(driver, live_server, "editor")

    assert not driver.find_elements(By.LINK_TEXT, "Purge URLs")
    driver.get(f"{live_server.url}/admin/testapp/article/")
    values = [
        o.get_attribute("value") for o in Select(driver.find_element(By.NAME, "action")).options
    ]
    assert "delete_selected" in values and "purge_from_akamai" not in values

    driver.get(f"{live_server.url}/admin/django_akamai/purgepage/")
    assert "403" in driver.page_source
    screenshot(driver, "admin-purge-page-forbidden.png")
    assert akamai_emulator.counters["requests"] == 0


def test_status_page_in_the_browser(browser_session, live_server, akamai_emulator, settings):
    from selenium.webdriver.common.by import By

    from django_akamai import funnel
    from django_akamai.purge import PurgeRequest

    driver = browser_session
    settings.AKAMAI_DELIVERY = "worker"  # the intents below stay pending
    for n in range(3):
        PurgeRequest(urls=[f"/status/{n}/", f"/status/{n}/b/"]).purge_all()
    funnel.record(funnel.plan(["/pending/1/", "/pending/2/"]), using="default")
    make_staff("watcher", "purge_cache")
    log_in(driver, live_server, "watcher")

    driver.find_element(By.LINK_TEXT, "Akamai status").click()  # from the admin index
    wait_for(driver, By.ID, "akamai-chart")
    assert driver.title.startswith("Akamai status")
    cards = {
        name: driver.find_element(By.CSS_SELECTOR, f"#akamai-{name} .value").text
        for name in ("pending", "failed", "requests", "objects", "429s", "retries")
    }
    assert cards == {
        "pending": "2",
        "failed": "0",
        "requests": "3",
        "objects": "6",
        "429s": "0",
        "retries": "0",
    }
    # The chart is drawn by the browser from the page's own SVG: one bar this hour.
    [bar] = driver.find_elements(By.CSS_SELECTOR, "#akamai-chart rect.accepted")
    assert bar.size["height"] > 0 and bar.size["width"] > 0
    assert len(driver.find_elements(By.CSS_SELECTOR, "#akamai-chart g.hour")) == 24
    # Nothing was loaded from anywhere but this site.
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(name.startswith(live_server.url) for name in loaded)
    screenshot(driver, "admin-akamai-status.png")
