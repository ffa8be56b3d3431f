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
