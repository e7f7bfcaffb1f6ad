"""Security headers on pages, the API, the portal and static files; no inline script anywhere in the
templates (the CSP would block it; tests/security/test_csp_browser.py checks the pages in Chromium)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives(header: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in (p.strip() for p in header.split(";"))}


@pytest.mark.parametrize("path", ["/login", "/api/v1/processes", "/api/docs", "/api/openapi.json",
                                  "/static/css/procly.css", "/portal/t/not-a-real-link", "/nowhere"])
def test_every_response_carries_the_headers(client, path):
    r = client.get(path)
    csp = directives(r.headers["Content-Security-Policy"])
    assert csp["script-src"] == "'self'"                       # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in r.headers       # http base URL (https: test_sessions.py)


def test_no_template_has_inline_script_or_handlers():
    """Only external scripts and JSON data blocks; no on*= handlers, no javascript: URLs, no style attributes."""
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                problems.append(f"{path.name}: inline {tag}")
        for m in re.finditer(r"<script\b[^>]*\bsrc=[^>]*>(.*?)</script>", text, re.S):
            if m.group(1).strip():
                problems.append(f"{path.name}: code inside a src script")
        problems += [f"{path.name}: handler {h}" for h in re.findall(r"\son[a-z]+\s*=", text)]
        problems += [f"{path.name}: javascript: URL" for _ in re.findall(r"javascript:", text, re.I)]
        problems += [f"{path.name}: style attribute" for _ in re.findall(r"\sstyle\s*=", text)]
        problems += [f"{path.name}: <style> element" for _ in re.findall(r"<style\b", text)]
    assert problems == []


def test_swagger_ui_page_has_no_inline_script(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert "swagger-init.js" in html and "window.onload" not in html
    assert all("src=" in tag or "application/json" in tag for tag in re.findall(r"<script\b[^>]*>", html))
