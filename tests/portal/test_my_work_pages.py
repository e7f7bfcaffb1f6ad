"""My work pages its rows (WORK_PAGE a page, due first, ordered and cut in SQL): the count badges
count the whole queue, the pager's links keep the filters, the live refresh asks for the shown page,
a bad page number gives page 1, and no page shows a run its user may not see."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import StageRun
from app.worklist import queries


def _run(task, key):
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key))


def _runs_on(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-run="(\d+)"', html)]


@pytest.fixture
def queue(app, new_task, monkeypatch):
    """Five collect runs of the staff's queue, due one hour apart (the third has no due date)."""
    monkeypatch.setattr(queries, "WORK_PAGE", 2)
    tasks = [new_task({"name": f"Client {i}"}) for i in range(5)]
    runs = [_run(t, "collect") for t in tasks]
    for i, run in enumerate(runs):
        run.due_at = None if i == 2 else clock.now() + timedelta(hours=2 * i - 1)   # the first is overdue
    db.session.commit()
    return [r.id for r in runs[:2] + runs[3:] + runs[2:3]]    # due first, no due date last


def test_pages_in_due_order_with_the_whole_counts(queue, web_login, client):
    web_login("staff@procly.local")
    first = client.get("/queue").get_data(as_text=True)
    assert _runs_on(first) == queue[:2]
    assert 'id="count-open">5<' in first and 'id="count-overdue">1 overdue<' in first   # all rows counted
    assert "1–2 of 5" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/queue?page=2").get_data(as_text=True)
    assert _runs_on(second) == queue[2:4] and "3–4 of 5" in second and 'rel="prev"' in second
    assert 'id="count-open">5<' in second
    last = client.get("/queue?page=3").get_data(as_text=True)
    assert _runs_on(last) == queue[4:] and 'rel="next"' not in last
    assert client.get("/queue/counts").get_json()["open"] == 5


def test_filters_persist_across_pages_and_the_live_refresh_asks_for_the_shown_page(queue, web_login, client):
    web_login("staff@procly.local")
    html = client.get("/queue?process=intake&stage=collect&page=2").get_data(as_text=True)
    assert _runs_on(html) == queue[2:4]
    nxt = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    prev = re.search(r'rel="prev" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    for link, page in ((nxt, "3"), (prev, "1")):
        assert "process=intake" in link and "stage=collect" in link and f"page={page}" in link
        assert "status=" not in link                    # an empty filter is left out
    partial = re.search(r'data-partial="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "page=2" in partial and "process=intake" in partial and "partial=1" in partial
    part = client.get(partial).get_data(as_text=True)
    assert _runs_on(part) == queue[2:4] and 'data-open="5"' in part and 'data-overdue="1"' in part
    assert _runs_on(client.get("/queue?process=follow-up&page=2").get_data(as_text=True)) == []


@pytest.mark.parametrize("page", ["x", "-1", "0", "", "1.5", "99999999999", "%00"])
def test_a_bad_page_number_gives_page_one(queue, web_login, client, page):
    web_login("staff@procly.local")
    r = client.get(f"/queue?page={page}")
    assert r.status_code == 200 and _runs_on(r.get_data(as_text=True)) == queue[:2]


def test_a_page_past_the_end_shows_the_last(queue, web_login, client):
    web_login("staff@procly.local")
    assert _runs_on(client.get("/queue?page=40").get_data(as_text=True)) == queue[4:]


def test_no_page_shows_a_run_its_user_may_not_see(queue, web_login, client, new_task, users):
    """The approver's queue (one run awaiting approval) and the staff's: paging never mixes them."""
    from app.tasks import operations as service

    task = new_task({"name": "To approve"})
    values = {"name": "Jo", "email": "jo@example.com", "location": "in_area", "budget": 2000,
              "documents_complete": True}
    service.act(_run(task, "collect").id, "complete", "user:3", user=users["staff"], values=values)
    service.act(_run(task, "confirm").id, "complete", "user:3", user=users["staff"])   # awaiting approval
    db.session.commit()
    confirm = _run(task, "confirm").id
    web_login("approver@procly.local")
    html = client.get("/queue").get_data(as_text=True)
    assert _runs_on(html) == [confirm] and 'rel="next"' not in html     # one page; none of the staff's runs
    assert client.get("/queue/counts").get_json()["open"] == 1
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                         client.get("/queue").get_data(as_text=True)).group(1)})
    web_login("staff@procly.local")
    shown = [r for p in (1, 2, 3) for r in _runs_on(client.get(f"/queue?page={p}").get_data(as_text=True))]
    assert confirm not in shown and sorted(shown) == sorted(i["run"].id for i in queries.my_work(users["staff"]))
