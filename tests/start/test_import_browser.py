"""The CSV import page in Chromium: from "New task", staff upload a file; a worker imports it; the
progress bar reaches the end, the refused rows are listed with their row number, Field and reason,
and their report downloads. axe-core: no serious or critical violation. Screenshot:
docs/screenshots/import-progress.png."""
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Task
from tests.start.test_journey_browser import DOCS, axe_violations

CSV = ("Name,Email,Budget\n" + "".join(f"Client {i},c{i}@example.com,{1000 + i}\n" for i in range(40))
       + "Bad Email,not-an-address,100\nBad Budget,b@example.com,lots\n")


@pytest.mark.browser
def test_staff_import_tasks_from_a_csv_file(app, demo, live_server, browser, login_page, screenshot):
    from app.runtime.worker import make_worker

    DOCS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login_page(page, live_server, "staff@procly.local")
    page.goto(f"{live_server}/queue/new/intake")
    page.click("text=Import many Tasks from a CSV file")
    page.wait_for_url(re.compile(r"/queue/new/intake/import$"))
    assert axe_violations(page) == [], "the import page"
    page.set_input_files("#import-file", files=[{"name": "leads.csv", "mimeType": "text/csv",
                                                 "buffer": CSV.encode()}])
    page.click("button:has-text('Import')")
    page.locator("#import-progress:not([hidden])").wait_for()
    assert "Waiting for a worker" in page.inner_text("#import-status")
    make_worker(app).work(burst=True, logging_level="WARNING")
    page.wait_for_function("() => document.querySelector('#import-status').textContent.startsWith('Finished')",
                           timeout=60_000)
    assert "42 of 42 rows read, 40 Tasks started, 2 rows refused" in page.inner_text("#import-status")
    rows = page.locator("#import-errors tbody tr").all_inner_texts()
    assert rows[0].split("\t") == ["42", "Email", "must be an email address like name@example.com"]
    assert rows[1].split("\t") == ["43", "Budget", "must be a number"]
    assert page.get_attribute("#import-bar", "value") == "42"
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 40
    assert axe_violations(page) == [], "the import page with progress and refused rows"
    shutil.copy(screenshot(page, "import-progress", full_page=True), DOCS / "import-progress.png")
    with page.expect_download() as download:
        page.click("#import-report-link")
    assert Path(download.value.path()).read_text().splitlines()[1].startswith("42,Email,")
    page.reload()                      # the address keeps the import: its progress shows again
    page.wait_for_function("() => document.querySelector('#import-status').textContent.startsWith('Finished')")
    assert errors == []
