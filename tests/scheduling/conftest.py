"""A small world for Calendar Schedule: a Table with a datetime Field, Team Ops hosting 60-minute
appointments 09:00–12:00 Paris time on weekdays, a clock frozen on Monday 7 January 2030 06:00 UTC,
a real SMTP server (aiosmtpd) and a real CalDAV server (Radicale) when a test asks for them."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import datetime
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar

FIELDS = [
    {"key": "name", "name": "Name", "type": "text"},
    {"key": "email", "name": "Email", "type": "email"},
    {"key": "host", "name": "Host", "type": "email"},
    {"key": "when", "name": "Appointment", "type": "datetime"},
    {"key": "note", "name": "Note", "type": "text"},
]
MONDAY = datetime(2030, 1, 7, 6, 0)     # 07:00 in Paris; the first slot (09:00 Paris) is 08:00 UTC
CONFIG = {"field": "when", "time_zone": "Europe/Paris", "working_days": ["mon", "tue", "wed", "thu", "fri"],
          "day_start": "09:00", "day_end": "12:00", "slot_minutes": 60, "buffer_minutes": 0, "horizon_days": 14,
          "notice_minutes": 60, "capacity": 1, "host_kind": "team", "host": "Ops", "reminders": ["24h"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def calendar_stage(key="meet", **config) -> dict:
    return {"key": key, "name": "Schedule a visit", "type": "calendar_schedule",
            "reads": ["name", "email", "host", "when"], "writes": ["when"],
            "visibility": {"internal": {"teams": ["Ops"], "roles": []}, "external": "action"},
            "roles": {"responsible": ["team:Ops"], "approver": [], "informed": [], "delegator": []},
            "config": {**CONFIG, **config}}


class World:
    def __init__(self, app, make_user, api_as):
        from app.extensions import db
        from app.tables.operations import create_table

        self.app, self.db = app, db
        self.admin = make_user("admin", teams=("Ops",), email="admin@x.test")
        self.staff = make_user("staff", teams=("Ops",), email="staff@x.test")
        self.other = make_user("staff", teams=("Other",), email="other@x.test")
        create_table({"key": "t", "name": "T", "team_name": "Ops",
                      "fields": [{"required": False, "options": {}, **f} for f in FIELDS]}, "system")
        db.session.commit()
        self.api = api_as(self.staff)
        self.api_other = api_as(self.other)

    def process(self, key="visit", stages=None):
        from sqlalchemy import select

        from app.models import Process
        from app.processes import operations, versioning

        process = self.db.session.scalar(select(Process).where(Process.key == key))
        if process is None:
            process = operations.create_process({"key": key, "name": key.title(), "description": "", "table": "t",
                                                 "team": "Ops"}, self.admin)
        version = versioning.publish(process, self.admin, "test", definition={"stages": stages or [calendar_stage()],
                                                                                "routes": []})
        self.db.session.commit()
        return version

    def start(self, process="visit", values=None) -> int:
        from app.tasks import operations as service

        task = service.create_task({"process": process, "values": values or {"name": "Jo", "email": "jo@client.test"}},
                                   None, "system")
        self.db.session.commit()
        return task.id

    def run(self, task_id: int, stage="meet"):
        from sqlalchemy import select

        from app.models import StageRun

        self.db.session.expire_all()
        return self.db.session.scalar(select(StageRun).where(StageRun.task_id == task_id, StageRun.stage_key == stage)
                                      .order_by(StageRun.id.desc()))

    def task(self, task_id: int):
        from app.models import Task

        self.db.session.expire_all()
        return self.db.session.get(Task, task_id)


@pytest.fixture
def frozen():
    from app import clock

    fc = clock.FrozenClock(MONDAY)
    clock.set_clock(fc)
    yield fc
    clock.set_clock(None)


@pytest.fixture
def world(app, make_user, api_as):
    w = World(app, make_user, api_as)
    w.process()
    return w


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def parsed(self):
        return [message_from_bytes(m.content, policy=policy.default) for m in self.messages]

    def calendars(self):
        """Each message's text/calendar part, parsed back by icalendar."""
        out = []
        for msg in self.parsed():
            part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
            out.append((part, Calendar.from_ical(part.get_content())))
        return out


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    old = app.config["SMTP_HOST"], app.config["SMTP_PORT"]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    yield inbox
    ctl.stop()
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = old


@pytest.fixture(scope="session")
def radicale(tmp_root):
    """A real CalDAV server (Radicale) on a loopback port, no authentication: its base URL."""
    port, root = free_port(), tmp_root / "radicale"
    root.mkdir(exist_ok=True)
    conf = root / "config"
    conf.write_text(f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n"
                    f"[storage]\nfilesystem_folder = {root / 'collections'}\n[logging]\nlevel = warning\n")
    log = (root / "radicale.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(conf)], stdout=log, stderr=log)
    deadline = time.time() + 20
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError((root / "radicale.log").read_text())
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(10)
    log.close()
