"""Pre-warming a web process (gunicorn's post_worker_init, before it accepts requests): the default
dashboard views are computed once, so the first manager's request finds what later ones find — the
rollup part of each view in this process's cache (app.metrics.rollup_read), the statements built and
compiled (SQLAlchemy's compiled cache, rollup_read's lru_caches), a pooled connection open with its
prepared statements, and the modules the views import loaded. Read-only; bounded in time; a failure
is logged and ignored (a cold cache is slower, never wrong)."""
from __future__ import annotations

import logging
import time

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.metrics import ab, report
from app.metrics import queries as q
from app.models import Process, Split

log = logging.getLogger(__name__)
MAX_PROCESSES = 20


def views(now) -> list:
    """(label, call) of the views a dashboard opens with: every Process's default period (the
    Processes under an A/B test first), all Processes, and each Split's A/B panel."""
    splits = db.session.scalars(select(Split).order_by(Split.name)).all()
    tested = [v.process_id for s in splits for v in s.variants]
    pids = db.session.scalars(select(Process.id).where(Process.archived_at.is_(None)).order_by(Process.id)).all()
    pids = sorted(pids, key=lambda p: (p not in tested, p))[:MAX_PROCESSES]
    out = [(f"process {pid}", lambda pid=pid: report.dashboard(q.Filters.default(process_id=pid, now=now)))
           for pid in pids]
    out.append(("all processes", lambda: report.dashboard(q.Filters.default(now=now))))
    out += [(f"split {s.key}", lambda s=s: ab.compare(s.key, q.Filters.default(now=now))) for s in splits]
    return out


def prewarm(app, budget_seconds: float = 20.0) -> dict:
    """Compute the default views once in `app`; returns what was warmed and how long it took."""
    t0 = time.perf_counter()
    done = []
    with app.app_context():
        try:
            for label, call in views(clock.now()):
                if time.perf_counter() - t0 > budget_seconds:
                    break
                call()
                db.session.rollback()
                done.append(label)
        except Exception:   # noqa: BLE001 — never keep a web process from starting
            log.warning("dashboard pre-warm stopped", exc_info=True)
        finally:
            db.session.remove()
    return {"views": done, "ms": round((time.perf_counter() - t0) * 1000)}
