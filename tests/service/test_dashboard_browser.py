"""The dashboard end to end in headless Chromium: propose, approve as another person, see it.

Needs Debian's chromium at /usr/bin/chromium and the playwright Python
package; skipped, saying so, when either is missing. The service runs for
real (uvicorn on a loopback port, SQLite).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip(
    "fastapi", reason="the service extra is not installed: pip install -e '.[service]'"
)

CHROMIUM = Path("/usr/bin/chromium")
HOW = "install Debian's chromium (apt-get install -y chromium) and `pip install playwright`"


@pytest.fixture
def server(tmp_path):
    import httpx
    import uvicorn

    from skymesh.service.app import create_app, init_admin
    from skymesh.service.local import add_user

    url = f"sqlite:///{tmp_path / 'svc.sqlite3'}"
    admin = init_admin(url)
    app = create_app(url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    h = {"Authorization": f"Bearer {admin}"}
    tokens = {
        "olga": httpx.post(
            base + "/users", json={"name": "olga", "role": "operator"}, headers=h
        ).json()["token"],
        "ann": add_user(url, "ann", "approver"),  # approvers are added locally only
        "admin": admin,
    }
    yield base, tokens
    srv.should_exit = True
    thread.join(timeout=10)


def test_propose_approve_and_see_the_map_change(server):
    if not CHROMIUM.exists():
        pytest.skip(f"no /usr/bin/chromium: {HOW}")
    sync_api = pytest.importorskip("playwright.sync_api", reason=HOW)
    base, tokens = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        # the page's CSP forbids eval, which wait_for_function uses
        page = browser.new_page(bypass_csp=True)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")

        def sign_in(name):
            page.fill("#name", name)
            page.fill("#token", tokens[name])
            page.click("#login")
            page.wait_for_selector(f"text={name} (")

        sign_in("olga")
        tw = 'path[data-iso2="TW"]'
        page.wait_for_selector(tw, state="attached")
        assert page.get_attribute(tw, "data-state") == "default"
        assert page.locator("circle.small-country").count() == 0
        page.fill("#p-iso2", "tw")
        page.fill("#p-reason", "requested by the regulator")
        page.click("#propose")
        page.wait_for_selector("text=proposal #1 made")
        page.wait_for_selector(".proposal")
        assert page.locator(".proposal").count() == 1
        assert page.locator("button[data-action=approve]").count() == 0  # an operator
        page.click("#logout")
        sign_in("ann")
        page.wait_for_selector(".proposal button[data-action=approve]")
        page.wait_for_selector(
            ".proposal .effect >> text=/effect: (stops|changes)/", timeout=60_000
        )
        page.click(".proposal button[data-action=approve]")
        page.wait_for_function("document.querySelectorAll('.proposal').length === 0")
        page.wait_for_function(
            "document.querySelector('path[data-iso2=\"TW\"]').dataset.state === 'inactive'"
        )
        assert "inactive" in page.get_attribute(tw, "class")
        # Taiwan is a few pixels at world scale: switched off, it also carries a ring.
        assert page.locator('circle.small-country[data-iso2="TW"]').count() == 1
        assert page.locator("circle.small-country").count() == 1
        page.wait_for_selector("#audit >> text=policy.change")  # the table refreshes last
        audit = page.inner_text("#audit")
        for action in ("propose", "approve", "policy.change", "login"):
            assert action in audit
        assert "olga" in audit and "ann" in audit
        assert errors == []
        browser.close()


@pytest.fixture
def page_at(server):
    """A headless Chromium page on the dashboard and a ``sign_in(name)`` for it."""
    if not CHROMIUM.exists():
        pytest.skip(f"no /usr/bin/chromium: {HOW}")
    sync_api = pytest.importorskip("playwright.sync_api", reason=HOW)
    base, tokens = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")

        def sign_in(name):
            if page.is_visible("#logout"):
                page.click("#logout")
            page.fill("#name", name)
            page.fill("#token", tokens[name])
            page.click("#login")
            page.wait_for_selector(f"text={name} (")

        yield page, sign_in
        assert errors == []
        browser.close()


def test_a_refused_action_says_why_in_the_page(page_at):
    page, sign_in = page_at
    sign_in("ann")  # an approver may propose, but not approve its own reduction alone
    page.fill("#p-iso2", "TW")
    page.fill("#p-reason", "")
    page.click("#propose")
    page.wait_for_selector("#p-msg.refusal")
    assert "propose refused (HTTP 422)" in page.inner_text("#p-msg")
    assert "reason" in page.inner_text("#p-msg")
    page.fill("#p-reason", "requested by the regulator")
    page.click("#propose")
    page.wait_for_selector("text=proposal #1 made")
    page.click(".proposal button[data-action=approve]")
    msg = page.wait_for_selector(".proposal .refusal:not(:empty)")
    text = msg.inner_text()
    assert "approve #1 refused (HTTP 403)" in text
    assert "two-person rule" in text and "independent of its author" in text
    assert page.locator(".proposal").count() == 1  # still pending, and still on the page
    # rejecting without a reason is refused too, with the API's reason
    page.click(".proposal button[data-action=reject]")
    page.wait_for_selector(".proposal .refusal >> text=reject #1 refused")
    # an unknown country code is refused with the reason
    sign_in("olga")
    page.fill("#p-reason", "x")
    page.fill("#p-iso2", "ZZ")
    page.click("#propose")
    page.wait_for_selector("#p-msg.refusal")
    assert "propose refused (HTTP 4" in page.inner_text("#p-msg")


def test_accounts_and_own_tokens_within_the_trust_rules(page_at):
    page, sign_in = page_at
    sign_in("admin")
    page.wait_for_selector('#accounts tr[data-user="olga"]')
    names = page.locator("#accounts tr").evaluate_all("rs => rs.map(r => r.dataset.user)")
    assert names == ["admin", "ann", "olga"]
    # add an operator: done, its one-time token shown
    page.fill("#u-name", "bob")
    page.select_option("#u-role", "operator")
    page.click("#u-add")
    page.wait_for_selector('#accounts tr[data-user="bob"]')
    assert "operator bob added; token" in page.inner_text("#u-msg")
    # add an approver: refused, with the reason and the local command
    page.fill("#u-name", "carl")
    page.select_option("#u-role", "approver")
    page.click("#u-add")
    page.wait_for_selector("#u-msg.refusal")
    text = page.inner_text("#u-msg")
    assert "refused (HTTP 403)" in text and "not possible through the API" in text
    assert "skymesh users add carl --role approver" in text
    assert page.locator('#accounts tr[data-user="carl"]').count() == 0
    # raise olga to approver: refused, says why; lower ann to operator: done
    page.select_option('#accounts tr[data-user="olga"] select', "approver")
    page.click('#accounts tr[data-user="olga"] button[data-action=set-role]')
    page.wait_for_selector("#u-msg >> text=role of olga refused (HTTP 403)")
    assert "skymesh users add" in page.inner_text("#u-msg")
    page.select_option('#accounts tr[data-user="ann"] select', "operator")
    page.click('#accounts tr[data-user="ann"] button[data-action=set-role]')
    page.wait_for_selector("#u-msg >> text=ann is operator")
    # revoke bob
    page.click('#accounts tr[data-user="bob"] button[data-action=revoke-user]')
    page.wait_for_selector('#accounts tr[data-user="bob"] >> text=revoked')
    # own tokens: one (made at init), mint a second, revoke it
    page.wait_for_selector("#my-tokens tr")
    assert page.locator("#my-tokens tr").count() == 1
    page.click("#t-mint")
    page.wait_for_selector("#t-msg >> text=shown once")
    page.wait_for_function("document.querySelectorAll('#my-tokens tr').length === 2")
    page.locator("#my-tokens tr").nth(1).locator("button[data-action=revoke-token]").click()
    page.wait_for_selector("#t-msg >> text=revoked")
    page.wait_for_function("document.querySelectorAll('#my-tokens tr').length === 1")
    # an operator sees why it cannot list accounts, and manages its own tokens
    sign_in("olga")
    page.wait_for_selector("#u-msg.refusal")
    assert "this needs the admin role; olga is operator" in page.inner_text("#u-msg")
    page.wait_for_selector("#my-tokens tr")


def test_proposal_details_who_what_effect_expiry_approvals(page_at):
    page, sign_in = page_at
    sign_in("olga")
    page.fill("#p-iso2", "tw")
    page.fill("#p-reason", "requested by the regulator")
    page.click("#propose")
    page.wait_for_selector("text=proposal #1 made")
    p = ".proposal[data-id='1']"
    page.wait_for_selector(p)

    def field(name, where=p):
        return page.inner_text(f"{where} dd[data-field={name}]")

    assert field("author").startswith("olga at 20")
    assert '"iso2":"TW"' in field("change") and '"state":"inactive"' in field("change")
    assert field("reduces_service").startswith("yes")
    assert field("status") == "pending"
    assert field("expires_at").startswith("20")
    assert "independent of olga" in field("approvals")
    page.wait_for_selector(f"{p} .effect >> text=/effect: (stops|changes)/", timeout=60_000)
    sign_in("ann")
    page.click(f"{p} button[data-action=approve]")
    page.wait_for_selector(".decided[data-id='1']")
    assert field("status", ".decided[data-id='1']") == "approved"
    assert field("approvals", ".decided[data-id='1']").startswith("approved by ann at 20")
