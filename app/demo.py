"""Demo data: the client-intake example from PRODUCT.md. Idempotent: running it twice changes nothing."""
from __future__ import annotations

import random

from sqlalchemy import select

from app.auth.passwords import hash_password
from app.processes import operations as process_ops
from app.processes import versioning
from app.extensions import db
from app.models import Table, Team, User
from app.tables.operations import create_table
from app.lookups import find_process, find_split
from app.splits import create_split
from datetime import timedelta
from app import clock
from app.tasks.operations import act, create_task
from app.models import StageRun, Task
from app import stages
from app.runtime import jobs
from app.runtime.context import definition, stage_of
from app.scheduling import operations as scheduling

PASSWORD = "procly-demo-2026"
USERS = [  # email, name, role, teams
    ("admin@procly.local", "Ada Admin", "admin", ["Intake", "Operations"]),
    ("designer@procly.local", "Dana Designer", "designer", ["Intake", "Operations"]),
    ("staff@procly.local", "Sam Staff", "staff", ["Intake"]),
    ("approver@procly.local", "Avery Approver", "staff", ["Compliance"]),
    ("manager@procly.local", "Morgan Manager", "manager", ["Intake"]),
]

FIELDS = [
    {"key": "name", "name": "Name", "type": "text", "required": True},
    {"key": "email", "name": "Email", "type": "email", "required": True},
    {"key": "phone", "name": "Phone", "type": "phone"},
    {"key": "source", "name": "Source", "type": "choice", "options": {"choices": ["web", "phone", "partner"],
                                                                  "labels": {"web": "Web", "phone": "Phone", "partner": "Partner"}}},
    {"key": "message", "name": "Message", "type": "text", "options": {"multiline": True}},
    {"key": "spam_score", "name": "Spam score", "type": "number"},
    {"key": "location", "name": "Location", "type": "choice",
     "options": {"choices": ["in_area", "nearby", "out_of_area"],
                 "labels": {"in_area": "In area", "nearby": "Nearby", "out_of_area": "Out of area"}}},
    {"key": "budget", "name": "Budget", "type": "number"},
    {"key": "documents_complete", "name": "Documents complete", "type": "boolean"},
    {"key": "eligible", "name": "Eligible", "type": "boolean"},
    {"key": "appointment_at", "name": "First appointment", "type": "datetime"},
    {"key": "notes", "name": "Notes", "type": "text", "options": {"multiline": True}},
]


def stage(key, name, type_="basic", *, reads=(), writes=(), **extra) -> dict:
    return {"key": key, "name": name, "type": type_, "reads": list(reads), "writes": list(writes), **extra}


def route(key, name, target, *, stage_key=None, condition=None, trigger="condition", target_stage=None) -> dict:
    trig = {"type": trigger, **({"condition": condition} if condition else {})}
    tgt = {"split": target[6:]} if target.startswith("split:") else {"process": target}
    if target_stage:
        tgt["stage"] = target_stage
    return {"key": key, "name": name, "stage": stage_key, "trigger": trig, "target": tgt}


CONTACT = ("name", "email", "phone", "location", "budget", "documents_complete")
APPROVAL_48H = {"required": True, "approvers": ["team:Compliance"], "sla": {"due": "48h", "reminders": ["24h"]}}


# the first appointment: 45 minutes with the Intake Team, weekdays 09:00–17:00 London time
APPOINTMENTS = {"field": "appointment_at", "time_zone": "Europe/London", "working_days": ["mon", "tue", "wed", "thu", "fri"],
                "day_start": "09:00", "day_end": "17:00", "slot_minutes": 45, "buffer_minutes": 15, "horizon_days": 21,
                "notice_minutes": 120, "capacity": 1, "host_kind": "team", "host": "Intake", "reminders": ["24h", "1h"],
                "instructions": "Pick a time that suits you for a first 45-minute meeting."}


def definitions() -> dict[str, dict]:
    intake_stages = [
        stage("collect", "Collect basic information", "form", reads=CONTACT, writes=CONTACT,
              config={"instructions": "Tell us about yourself.", "required": ["name", "email", "location", "budget"]},
              visibility={"internal": {"teams": [], "roles": []}, "external": "action"},
              roles={"responsible": ["team:Intake"], "approver": [], "informed": [], "delegator": ["role:manager"]},
              sla={"due": "48h", "reminders": ["24h"]}),
        stage("confirm", "Confirm eligibility", "basic", reads=CONTACT + ("notes",), writes=("eligible", "notes"),
              config={"checklist": ["Location served", "Budget fits", "Documents on file"]},
              approval=APPROVAL_48H,
              roles={"responsible": ["team:Intake"], "approver": ["team:Compliance"], "informed": [],
                     "delegator": ["role:manager"]}),
        stage("schedule", "Schedule first appointment", "calendar_schedule", reads=("name", "email", "appointment_at"),
              writes=("appointment_at",), config=APPOINTMENTS,
              visibility={"internal": {"teams": [], "roles": []}, "external": "action"},
              roles={"responsible": ["team:Intake"], "approver": [], "informed": [], "delegator": []}),
    ]
    intake_routes = [
        route("too_small", "Budget below minimum", "referral", stage_key="collect", condition="budget < 1000"),
        route("out_of_area", "Outside service area", "follow-up", stage_key="collect",
              condition='location == "out_of_area"'),
        route("missing_docs", "Documents missing", "follow-up", stage_key="collect",
              condition="documents_complete == false"),
        route("not_eligible", "Eligibility rejected", "rejection", stage_key="confirm", trigger="approval_rejected"),
    ]
    new_stages = [dict(s) for s in intake_stages]
    new_stages.insert(1, stage("docs_check", "Check documents", "compute", reads=("documents_complete", "budget"),
                               writes=("eligible",), column=1,
                               config={"assignments": {"eligible": "documents_complete == true && budget >= 1000"}}))
    new_stages[2] = {**new_stages[2], "column": 1}   # confirm runs in parallel with the automated check
    new_stages[3] = {**new_stages[3], "column": 2}
    return {
        "spam-filter": {"stages": [
            stage("score", "Score the lead", "compute", reads=("message", "email"), writes=("spam_score",),
                  config={"assignments": {"spam_score": 'message.contains("viagra") || email.endsWith(".spam") '
                                                        '? 1.0 : 0.1'}}),
            stage("qualify", "Qualify the lead", "basic", reads=("name", "email", "message", "spam_score"),
                  roles={"responsible": ["team:Intake"], "approver": [],
                                                        "informed": [], "delegator": []}),
        ], "routes": [
            route("spam", "Spam", "rejection", stage_key="score", condition="spam_score >= 0.5"),
            route("qualified", "Qualified lead", "split:intake-ab", stage_key="qualify", condition="true"),
        ], "start": {"roles": ["team:Intake"], "writes": ["name", "email", "phone", "source", "message"]}},
        "intake": {"stages": intake_stages, "routes": intake_routes},
        "intake-new": {"stages": new_stages, "routes": intake_routes},
        "follow-up": {"stages": [
            stage("contact", "Contact the client", "basic", reads=CONTACT, writes=("notes",),
                  sla={"due": "7d", "reminders": ["24h", "72h"]}),
            stage("update", "Update documents", "form", reads=CONTACT, writes=("documents_complete", "location"),
                  visibility={"internal": {"teams": [], "roles": []}, "external": "action"}),
        ], "routes": [
            route("back_to_intake", "Back to Intake", "intake", stage_key="update",
                  condition='documents_complete == true && location != "out_of_area"', target_stage="confirm"),
        ]},
        "referral": {"stages": [
            stage("refer", "Refer to a partner", "basic", reads=("name", "email", "budget"), writes=("notes",),
                  sla={"due": "4h", "escalate_after": "2h"}),
        ], "routes": []},
        "rejection": {"stages": [
            stage("notify", "Send the rejection", "basic", reads=("name", "email"), writes=("notes",)),
        ], "routes": []},
    }


PROCESSES = [  # key, name, team (publish order: targets before the Processes that route to them)
    ("rejection", "Rejection", "Operations"),
    ("referral", "Referral", "Operations"),
    ("intake", "Intake", "Intake"),
    ("intake-new", "Intake (new)", "Intake"),
    ("follow-up", "Follow-up", "Intake"),
    ("spam-filter", "Spam filter", "Intake"),
]


def load_demo(tasks: int = 40) -> list[tuple[str, str]]:
    if db.session.scalar(select(User).where(User.email == USERS[0][0])) is None:
        teams = {}
        for name in ("Intake", "Operations", "Compliance"):
            teams[name] = db.session.scalar(select(Team).where(Team.name == name)) or Team(name=name)
        for email, name, role, team_names in USERS:
            db.session.add(User(email=email, name=name, role=role, password_hash=hash_password(PASSWORD),
                                teams=[teams[t] for t in team_names]))
        db.session.flush()
    admin = db.session.scalar(select(User).where(User.email == USERS[0][0]))
    if db.session.scalar(select(Table).where(Table.key == "clients")) is None:
        create_table({"key": "clients", "name": "Clients", "team_name": "Intake",
                      "fields": [{"required": False, "options": {}, **f} for f in FIELDS]}, "system")
    defs = definitions()
    created = []
    for key, name, team in PROCESSES:
        if find_process(key) is None:
            created.append(process_ops.create_process(
                {"key": key, "name": name, "description": "", "table": "clients", "team": team}, admin))
    if find_split("intake-ab") is None:

        create_split({"key": "intake-ab", "name": "Intake A/B", "table": "clients", "team": "Intake",
                      "variants": [{"key": "legacy", "process": "intake", "version": None, "weight": 80},
                                   {"key": "new", "process": "intake-new", "version": None, "weight": 20}]}, admin)
    for process in created:
        versioning.publish(process, admin, "Demo version", definition=defs[process.key])
    db.session.commit()
    if created:
        _demo_tasks(tasks, admin)
    return [(email, role) for email, _, role, _ in USERS]


def _demo_tasks(count: int, admin: User) -> None:
    """Start `count` leads on the Spam filter and play a fortnight of work on them, on a moved
    clock, so queues, timelines and dashboards have something real to show."""

    rnd = random.Random(7)
    start = clock.now() - timedelta(days=14)
    sim = clock.FrozenClock(start)
    clock.set_clock(sim)
    staff = db.session.scalar(select(User).where(User.email == "staff@procly.local"))
    approver = db.session.scalar(select(User).where(User.email == "approver@procly.local"))
    try:
        for i in range(count):
            # leads arrive over the first 11 days; each one's work takes at most ~2.5 days after
            sim.current = start + timedelta(days=11) * i / max(count, 1)
            spam = i % 9 == 0
            values = {"name": f"Client {i + 1}", "email": f"client{i + 1}@example.{'spam' if spam else 'com'}",
                      "source": rnd.choice(["web", "phone", "partner"]),
                      "message": "cheap viagra" if spam else "Hello, I need help with my case."}
            task = create_task({"process": "spam-filter", "key": f"demo-{i + 1}", "values": values}, admin, "system")
            db.session.commit()
            _run_automated()
            sim.advance(minutes=rnd.randint(20, 300))
            if i % 4 == 3:
                continue  # some leads wait in the queue
            for step in ("qualify", "collect", "confirm", "approve", "schedule"):
                run = _open_run(task.id, "confirm" if step == "approve" else step)
                if run is None or rnd.random() < 0.12:
                    break
                sim.advance(hours=rnd.uniform(0.5, 11))
                user, action, vals = staff, "complete", None
                if step == "collect":
                    vals = {"name": values["name"], "email": values["email"], "location": rnd.choices(
                        ["in_area", "nearby", "out_of_area"], [6, 3, 1])[0], "budget": rnd.choice([500, 1500, 3000, 8000]),
                        "documents_complete": rnd.random() > 0.2}
                elif step == "schedule":
                    free = scheduling.slots(run.id, staff)["slots"]
                    if free:
                        scheduling.book(run.id, clock.iso(free[rnd.randrange(min(len(free), 12))].start), staff,
                                        f"user:{staff.id}", "Europe/London")
                        db.session.commit()
                    continue
                elif step == "approve":
                    user, action = approver, "approve" if rnd.random() > 0.15 else "reject"
                act(run.id, action, f"user:{user.id}", user=user, values=vals)
                db.session.commit()
                _run_automated()
    finally:
        clock.set_clock(None)


def _open_run(task_id: int, stage_key: str):

    task = db.session.get(Task, task_id)
    db.session.refresh(task)
    return db.session.scalar(select(StageRun).where(
        StageRun.task_id == task_id, StageRun.process_id == task.process_id, StageRun.stage_key == stage_key,
        StageRun.status.in_(["pending", "started", "in_progress", "awaiting_approval"])).order_by(StageRun.id.desc()))


def _run_automated() -> None:
    """Perform pending automated Stage Runs right here (the demo needs no worker running)."""

    for _ in range(20):
        runs = db.session.scalars(select(StageRun).where(StageRun.status == "pending")).all()
        todo = [r for r in runs if stages.get(stage_of(definition(r.version_id), r.stage_key)["type"]).automated]
        if not todo:
            return
        for run in todo:
            jobs.run_stage(run.id, run.attempt)
