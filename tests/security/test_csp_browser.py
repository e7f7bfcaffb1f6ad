"""In Chromium, with the Content Security Policy on: the main pages load and run with no CSP violation
and no script error (builder, queue, Task page, portal, dashboards with Chart.js, Swagger UI, tokens);
the tokens page is used for real and photographed for docs/screenshots/tokens.png."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
"""

# (path, a selector that shows the page's script ran)
STAFF_PAGES = [
    ("/", "h1"),
    ("/builder", "#import-form"),
    ("/builder/intake", "#builder[data-ready=true]"),
    ("/builder/splits/intake-ab", "#variants > *"),
    ("/builder/tables/clients", "#fields tr"),
    ("/queue", "#work"),
    ("/queue/tables/clients", "table"),
    ("/queue/notifications", "h1"),
    ("/queue/alerts?process=intake", "#add-rule"),
    ("/dashboards", ".dash-chart canvas"),
    ("/api/docs", ".swagger-ui .info"),
    ("/account/tokens", "#new-token"),
    ("/account/secrets", "#secrets"),
    ("/account/password", "form"),
]


def watch(context, errors: list) -> None:
    context.add_init_script(WATCH)
    context.on("page", lambda p: p.on("pageerror", lambda exc: errors.append(f"{p.url}: {exc}")))


def violations(page) -> list[str]:
    return page.evaluate("() => window.__csp")


@pytest.mark.browser
def test_main_pages_run_under_the_csp(demo, new_task, live_server, browser, login_page, screenshot):
    from app.extensions import db
    from app.participants import links

    task = new_task({"name": "Robin Newcomer", "budget": 5000})
    _, secret = links.invite(task, "robin@example.com", name="Robin")
    db.session.commit()

    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    watch(ctx, errors)
    page = ctx.new_page()
    page.goto(f"{live_server}/login")
    assert violations(page) == []
    login_page(page, live_server, "admin@procly.local", password="procly-demo-2026")
    seen = {}
    for path, ready in STAFF_PAGES + [(f"/queue/tasks/{task.id}", "#task-root")]:
        page.goto(f"{live_server}{path}")
        page.locator(ready).first.wait_for(state="attached", timeout=15_000)
        page.wait_for_load_state("networkidle")
        seen[path] = violations(page)
    assert {p: v for p, v in seen.items() if v} == {}
    # live parts need their socket: it connected under connect-src 'self'
    page.goto(f"{live_server}/dashboards")
    page.wait_for_function("() => window.procly_dashboards && window.procly_dashboards.socket"
                           " && window.procly_dashboards.socket.connected", timeout=15_000)

    portal = browser.new_context(viewport={"width": 390, "height": 844})
    watch(portal, errors)
    p = portal.new_page()
    p.goto(f"{live_server}/portal/t/{secret}")
    p.locator("main").wait_for()
    assert "Robin" in p.content() or "request" in p.content()
    assert p.evaluate("() => getComputedStyle(document.querySelector('header')).fontWeight") == "700"  # portal.css
    assert violations(p) == []
    assert errors == []


@pytest.mark.browser
def test_tokens_page_in_the_browser(demo, live_server, page, login_page, screenshot):
    errors: list[str] = []
    page.context.add_init_script(WATCH)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size({"width": 1280, "height": 720})
    login_page(page, live_server, "admin@procly.local", password="procly-demo-2026")
    page.click("nav >> text=API tokens")
    page.fill("#new-token input[name=name]", "Nightly CRM export")
    page.select_option("#new-token select[name=scope]", "read")
    page.select_option("#new-token select[name=expires]", "90")
    page.click("#new-token button[type=submit]")
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("prc_")
    page.fill("#new-token input[name=name]", "Old integration")
    page.select_option("#new-token select[name=scope]", "write")
    page.click("#new-token button[type=submit]")
    page.once("dialog", lambda d: d.accept())      # data-confirm asks first (app.js)
    page.locator("tr:has-text('Old integration') button:has-text('Revoke')").click()
    page.locator("tr:has-text('Old integration') .badge.off").wait_for()
    page.fill("#new-token input[name=name]", "Reporting (read only)")
    page.click("#new-token button[type=submit]")
    assert page.locator("#tokens tbody tr").count() == 3
    assert "revoked" in page.locator("tr:has-text('Old integration')").inner_text()
    assert violations(page) == [] and errors == []
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "tokens", full_page=True), DOCS / "tokens.png")
