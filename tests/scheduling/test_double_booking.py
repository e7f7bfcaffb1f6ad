"""Double booking is impossible: 20 bookings of a one-seat slot sent at once, by 20 threads over HTTP
to the running app (each its own request, session and transaction), end with exactly one booked and
19 answered 409 — the database's unique (host, start, seat) decides, on SQLite and PostgreSQL."""
import json
import threading
import urllib.error
import urllib.request

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, Task


def _post(url: str, headers: dict, body: dict) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={**headers, "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_twenty_parallel_bookings_of_one_seat(world, frozen, live_server):
    runs = [world.run(world.start(values={"name": f"Client {i}", "email": f"c{i}@client.test"})) for i in range(20)]
    barrier, statuses = threading.Barrier(20), []

    def book(run_id):
        barrier.wait()
        statuses.append(_post(f"{live_server}/api/v1/runs/{run_id}/booking", world.api.headers,
                              {"start": "2030-01-08T09:00:00Z", "time_zone": "Europe/Paris"}))

    threads = [threading.Thread(target=book, args=(r.id,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(statuses) == [201] + [409] * 19, statuses
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Booking.id))) == 1
    # exactly one Task holds the time; the others are untouched and can still book another slot
    booked = [t for t in db.session.scalars(select(Task)) if (t.values or {}).get("when")]
    assert len(booked) == 1 and booked[0].values["when"] == "2030-01-08T09:00:00+00:00"
    loser = next(r for r in runs if r.task_id != booked[0].id)
    assert world.api.post(f"/api/v1/runs/{loser.id}/booking", json={"start": "2030-01-08T10:00:00Z"}).status_code == 201
