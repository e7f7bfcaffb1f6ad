"""In Chromium: staff upload on the Task page (progress bar, previews, a disguised program refused
with the Field's name), then Done; a participant uploads on a 390×844 portal page and finishes.
Screenshots go to docs/screenshots/ (file-upload-task.png, portal-file-upload.png)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.participants import links
from tests.files.conftest import EXE, PDF, png

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-secret-1"
BIG_PDF = PDF + b"%" + bytes(3 * 1024 * 1024)    # 3 MB: enough for several progress events


@pytest.mark.browser
def test_staff_upload_with_progress_then_done(fw, docs_task, live_server, browser, login_page, screenshot, tmp_path):
    task_id, run_id = docs_task
    files = {"lease agreement.pdf": BIG_PDF, "utility bill.png": png(), "invoice.pdf": EXE}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    login_page(page, live_server, "staff@x.test", PASSWORD)
    page.goto(f"{live_server}/queue/tasks/{task_id}")
    box = page.locator(f"#run-{run_id} [data-upload]")
    assert "Proof of address" in box.inner_text()
    page.evaluate("""() => { window.__progress = [];
        new MutationObserver(() => window.__progress.push(document.querySelector('[data-upload-progress]').value))
          .observe(document.querySelector('[data-upload-progress]'), {attributes: true}); }""")
    cdp = ctx.new_cdp_session(page)     # a slow uplink (2 MB/s), so the 3 MB upload shows its progress
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 2 * 1024 * 1024})
    box.locator("[data-upload-input]").set_input_files([str(tmp_path / "lease agreement.pdf"),
                                                        str(tmp_path / "utility bill.png")])
    page.wait_for_function("() => document.querySelectorAll('[data-upload] [data-file-list] li[data-file]').length === 2"
                           " && !document.querySelector('[data-upload][data-busy]')", timeout=60_000)
    progress = page.evaluate("() => window.__progress")
    assert 100 in progress and any(0 < p < 100 for p in progress), progress
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    # a program named .pdf: refused, the message names the Field
    box.locator("[data-upload-input]").set_input_files(str(tmp_path / "invoice.pdf"))
    msg = box.locator("[data-upload-msg].err")
    msg.wait_for(timeout=30_000)
    assert "Proof of address" in msg.inner_text() and "Windows program" in msg.inner_text()
    # previews (through the permission-checked endpoint) after a reload
    page.reload()
    img = page.locator(f"#run-{run_id} img.file-preview")
    img.wait_for()
    page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=10_000)
    assert page.locator(f"#run-{run_id} a:has-text('Preview')").get_attribute("href").endswith("?inline=1")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "task", full_page=False), DOCS / "file-upload-task.png")
    page.locator(f"#run-{run_id} button:has-text('Done')").click()
    page.locator(f"#run-status-{run_id}:has-text('completed')").wait_for(timeout=10_000)
    assert [r["name"] for r in fw.task(task_id).values["docs"]] == ["lease agreement.pdf", "utility bill.png"]
    ctx.close()


@pytest.mark.browser
def test_portal_upload_on_a_phone(fw, docs_task, live_server, browser, screenshot, tmp_path):
    task_id, run_id = docs_task
    link, secret = links.invite(fw.task(task_id), "jo@example.com", name="Jo", by=fw.staff, actor="user:1")
    fw.db.session.commit()
    (tmp_path / "passport scan.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20_000))
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(f"{live_server}/portal/t/{secret}")
    box = page.locator("[data-upload]")
    box.locator("[data-upload-input]").set_input_files(str(tmp_path / "passport scan.jpg"))
    box.locator("[data-upload-msg]:has-text('uploaded')").wait_for(timeout=10_000)
    assert "passport scan.jpg" in box.locator("[data-file-list]").inner_text()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "portal"), DOCS / "portal-file-upload.png")
    page.click("button:has-text('Done')")
    page.locator("text=your answers were saved").wait_for()
    assert fw.run(task_id, "upload").status == "completed"
    assert re.match(r"passport scan\.jpg", fw.task(task_id).values["docs"][0]["name"])
    ctx.close()
