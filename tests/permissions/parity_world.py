"""The world the parity matrix runs in, built once per test module: two Teams with the same setup
(Alpha and Beta, so every "other Team" case mirrors an "own Team" one), their people, Tables,
Processes, Splits, webhooks, alert rules, Tasks with Stage Runs in every state the routes need, a
participant's magic link, API tokens (one revoked) and one signed-in client per person.

Objects the matrix may change for good (an allowed complete, archive, revoke…) are made fresh for
that one call (`World.fresh_*`); refused calls use the shared ones, which must stay as they were."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from sqlalchemy import select, text

from tests.conftest import ApiClient
from tests.helpers import csrf_from

TEAMS = {"a": "Alpha", "b": "Beta"}
STAFF_ROLES = ("designer", "staff", "manager")
FIELDS = [{"key": k, "name": k.title(), "type": "text", "required": False, "options": {}}
          for k in ("name", "secret", "note")] + [{"key": "docs", "name": "Docs", "type": "file", "required": False,
                                                   "options": {}},
                                                  {"key": "when", "name": "When", "type": "datetime", "required": False,
                                                   "options": {}}]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# `meet`, a Calendar Schedule Stage: any quarter hour of the next week, 100 seats (every allowed
# booking of the matrix takes a slot of its own anyway: World.slot)
MEET = {"field": "when", "time_zone": "UTC", "working_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "day_start": "00:00", "day_end": "23:59", "slot_minutes": 15, "buffer_minutes": 0, "notice_minutes": 0,
        "horizon_days": 7,
        "capacity": 100, "host_kind": "team", "reminders": []}
PAGE_PASSWORD = "pw-parity-2026-x"


def definition(t: str) -> dict:
    """Process p_<t>: `work` (the participant's action Stage), `sign` (approval by the Team's
    manager and the participant), `hold` (a manual gate), all in column 0 and visible to team <t>
    only. (Role refs like `role:manager` name every manager of every Team, so the Team's manager is
    named by email here.)"""
    team = TEAMS[t]

    def stage(key, **extra):
        return {"key": key, "name": key.title(), "type": "basic", "column": 0, "reads": ["name", "secret", "note"],
                "writes": ["note"], "visibility": {"internal": {"teams": [team], "roles": []}, "external": "none"},
                "roles": {"responsible": [f"team:{team}"], "approver": [], "informed": [],
                          "delegator": [f"user:manager-{t}@parity.test"]}, **extra}

    return {"stages": [
        stage("work", visibility={"internal": {"teams": [team], "roles": []}, "external": "action"}),
        stage("sign", approval={"required": True, "approvers": [f"user:manager-{t}@parity.test",
                                                                 f"user:pat-{t}@example.com"]},
              visibility={"internal": {"teams": [team], "roles": []}, "external": "status"}),
        stage("hold", gate={"type": "manual"}),
        stage("ping", type="wait", config={"signal": "ping"}, reads=[], writes=[]),
        stage("files", type="file_upload", reads=["name", "docs"], writes=["docs"],
              config={"field": "docs", "kinds": ["pdf"], "min_count": 0, "max_count": 50},
              visibility={"internal": {"teams": [team], "roles": []}, "external": "action"}),
        stage("talk", type="email_conversation", reads=["name"], writes=[],
              visibility={"internal": {"teams": [team], "roles": []}, "external": "action"},
              config={"recipient": "participant", "subject": "Hello {{ name }}", "body": "Hi", "finish": "first_reply"}),
        stage("meet", type="calendar_schedule", reads=["name", "when"], writes=["when"],
              visibility={"internal": {"teams": [team], "roles": []}, "external": "action"},
              config={**MEET, "host": team}),
    ], "routes": [], "start": {"roles": [f"team:{team}"], "writes": ["name", "secret"]}}


def mail_lane(t: str) -> dict:
    """Process m_<t>: one Email conversation Stage, `mail`, visible to and worked by team <t>."""
    team = TEAMS[t]
    return {"stages": [{"key": "mail", "name": "Mail", "type": "email_conversation", "reads": ["name"], "writes": [],
                        "config": {"recipient": "participant", "subject": "Hello {{ name }}", "body": "Hi",
                                   "finish": "staff_done"},
                        "visibility": {"internal": {"teams": [team], "roles": []}, "external": "none"},
                        "roles": {"responsible": [f"team:{team}"]}}], "routes": []}


def next_lane(t: str) -> dict:
    team = TEAMS[t]
    return {"stages": [{"key": "next", "name": "Next", "type": "basic", "writes": ["note"],
                        "visibility": {"internal": {"teams": [team], "roles": []}, "external": "none"},
                        "roles": {"responsible": [f"team:{team}"]}}], "routes": []}


@dataclass
class World:
    app: object
    users: dict = field(default_factory=dict)        # "admin", "designer_a", "staff_b", …
    api: dict = field(default_factory=dict)          # actor name -> ApiClient (own test client)
    pages: dict = field(default_factory=dict)        # actor name -> (signed-in test client, csrf token)
    shared: dict = field(default_factory=dict)       # (kind, t) -> object id / key
    portal: tuple | None = None                      # (client, form token) of the participant of Alpha
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- ids of shared objects, or fresh ones ------------------------------------------------------
    def uid(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def task(self, t: str, fresh: bool = False, state: str = "open") -> int:
        return self.fresh_task(t, state) if fresh else self.shared[("task", t, state)]

    def task_key(self, task_id: int) -> str:
        from app.extensions import db
        from app.models import Task

        return db.session.get(Task, task_id).key

    def run(self, t: str, stage: str, fresh: bool = False, state: str = "open") -> int:
        return self.run_of(self.task(t, fresh, state), stage)

    def run_of(self, task_id: int, stage: str) -> int:
        from app.extensions import db
        from app.models import StageRun

        return db.session.scalar(select(StageRun.id).where(StageRun.task_id == task_id, StageRun.stage_key == stage)
                                 .order_by(StageRun.id.desc()))

    def fresh_task(self, t: str, state: str = "open") -> int:
        """A Task on p_<t>: `work` pending, `sign` awaiting approval, `hold` gated; `work` is put in
        progress ("working"), "paused" or "failed" for the routes that need it."""
        from app.extensions import db
        from app.tasks import operations as service

        if state == "talking":
            return self.fresh_conversation(t)
        task = service.create_task({"process": f"p_{t}", "values": {"name": f"N-{t}", "secret": f"S-{t}",
                                                                    "note": "n"}}, None, "system")
        db.session.flush()
        service.act(self.run_of(task.id, "sign"), "complete", "system")
        if state == "booked":   # `meet` booked (by the system)
            from app.scheduling import operations as scheduling

            scheduling.book(self.run_of(task.id, "meet"), self.slot(), None, "system")
        elif state != "open":
            status = {"working": "in_progress"}.get(state, state)
            db.session.execute(text("UPDATE stage_runs SET status = :s WHERE id = :id"),
                               {"s": status, "id": self.run_of(task.id, "work")})
        db.session.commit()
        return task.id

    def fresh_conversation(self, t: str) -> int:
        """A Task on m_<t> whose `mail` run is in progress after its first email."""
        from app.conversations import operations as conversations
        from app.extensions import db
        from app.models import StageRun
        from app.tasks import operations as service

        task = service.create_task({"process": f"m_{t}", "values": {"name": f"N-{t}"}}, None, "system")
        db.session.flush()
        run = db.session.get(StageRun, self.run_of(task.id, "mail"))
        run.status = "in_progress"
        conversations.send(run, f"pat-{t}@example.com", "Hello", "Hi", "<p>Hi</p>")
        db.session.commit()
        return task.id
    def talking(self, run_id: int) -> int:
        """The `talk` run (an Email conversation the participant may answer in the portal) waiting
        for an answer after its first email, as a worker leaves it."""
        from app.conversations import operations as conversations
        from app.extensions import db
        from app.models import StageRun

        run = db.session.get(StageRun, run_id)
        if run.status != "in_progress":
            run.status = "in_progress"
            conversations.send(run, "pat-a@example.com", "Hello", "Hi", "<p>Hi</p>")
            db.session.commit()
        return run_id

    def fresh_file(self, t: str, task_id: int | None = None) -> int:
        """A PDF uploaded (by the system) into the `files` Stage Run of a fresh Task of team <t>."""
        import io

        from app.extensions import db
        from app.files import operations

        f = operations.upload(self.run_of(task_id or self.fresh_task(t), "files"), None, io.BytesIO(PDF).read,
                              filename="proof.pdf", content_length=len(PDF), actor="system")
        db.session.commit()
        return f.id
    def slot(self) -> str:
        """A free slot of `meet` no other call of the matrix books (one further ahead each time)."""
        from app import clock
        from app.scheduling.slots import Availability, candidates

        found = candidates(Availability.from_config({**MEET, "host": ""}), clock.now())
        return clock.iso(found[8 + next(self.counter) % (len(found) - 8)][0])

    def booking_token(self, t: str, fresh: bool = False) -> str:
        """The signed reschedule / cancel token of `meet`'s booking on a booked Task of team <t>."""
        from app.extensions import db
        from app.models import Booking
        from app.scheduling import links

        task_id = self.fresh_task(t, "booked") if fresh else self.shared[("task", t, "booked")]
        return links.token_for(db.session.scalar(select(Booking).where(Booking.task_id == task_id,
                                                                       Booking.status == "booked")))

    def fresh_process(self, t: str) -> str:
        from app.processes import operations
        from app.extensions import db

        key = self.uid(f"fp-{t}-")
        operations.create_process({"key": key, "name": key, "description": "", "table": f"t_{t}",
                                   "team": TEAMS[t]}, self.users["admin"])
        db.session.commit()
        return key

    def fresh_link(self, t: str, task_id: int | None = None) -> tuple[int, str]:
        from app.extensions import db
        from app.participants import links

        link, secret = links.invite(db.session.get(_task_model(), task_id or self.fresh_task(t)),
                                    f"pat-{t}@example.com", by=None)
        db.session.commit()
        return link.id, secret

    def fresh_rule(self, t: str) -> int:
        from app import alerts
        from app.extensions import db
        from app.models import Process

        process = db.session.scalar(select(Process).where(Process.key == f"p_{t}"))
        rule = alerts.create_rule(process, {"event_type": "task.completed", "channel": "in_app"}, "system")
        db.session.commit()
        return rule.id

    def fresh_field(self, t: str) -> str:
        from app.extensions import db
        from app.tables import operations

        key = self.uid("f")
        operations.add_field(operations.get_table(f"t_{t}"), {"key": key, "name": key, "type": "text",
                                                             "required": False, "options": {}}, "system")
        db.session.commit()
        return key

    def fresh_secret(self, t: str) -> int:
        from app.extensions import db
        from app.vault import operations

        secret = operations.create_secret(None, {"team": TEAMS[t], "name": self.uid("S").replace("-", "_"),
                                                 "value": "parity-value-1234"}, "system")
        db.session.commit()
        return secret.id

    def fresh_person(self, t: str | None) -> int:
        """A new staff user of Team t (a target of the admins' user operations)."""
        from app.auth.passwords import hash_password
        from app.extensions import db
        from app.models import Team, User

        team = db.session.scalar(db.select(Team).where(Team.name == TEAMS[t or "a"]))
        user = User(email=f"{self.uid('person')}@parity.test", name="Person", role="staff",
                    password_hash=hash_password(PAGE_PASSWORD), teams=[team])
        db.session.add(user)
        db.session.commit()
        return user.id

    def fresh_password_link(self) -> str:
        """The secret of a new invitation link of a new user."""
        from app.auth import links
        from app.extensions import db
        from app.models import NO_PASSWORD, User

        user = User(email=f"{self.uid('invitee')}@parity.test", name="Invitee", role="staff", password_hash=NO_PASSWORD)
        db.session.add(user)
        db.session.flush()
        secret = links.issue(user, links.INVITE, "system")
        db.session.commit()
        return secret

    def fresh_token(self, actor: str) -> int:
        from app.auth.tokens import issue_token
        from app.extensions import db

        token, _ = issue_token(self.users[actor], "fresh")
        db.session.commit()
        return token.id

    def portal_client(self, fresh: bool = False) -> tuple:
        """(client, form token, task id) of the participant's portal session: the shared one into
        Alpha's Task, or a fresh link into a fresh Task of Alpha."""
        from app.extensions import db
        from app.models.portal import MagicLink

        if not fresh and self.portal is not None:
            return self.portal
        link_id, secret = self.fresh_link("a", None if fresh else self.shared[("task", "a", "open")])
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"127.0.1.{next(self.counter) % 250 + 1}"  # the portal's per-IP limits
        assert client.get(f"/portal/t/{secret}").status_code == 302
        html = client.get("/portal/").get_data(as_text=True)
        found = (client, re.search(r'name="form_token" value="([^"]+)"', html).group(1),
                 db.session.get(MagicLink, link_id).task_id)
        if not fresh:
            self.portal = found
        return found

    def current_version(self, t: str) -> int:
        from app.extensions import db
        from app.models import Process

        return db.session.scalar(select(Process.current_version).where(Process.key == f"p_{t}"))


def _task_model():
    from app.models import Task

    return Task


def build(app) -> World:
    """Create everything (committed) and sign everyone in."""
    from app.auth.passwords import hash_password
    from app.auth.tokens import issue_token, revoke_token
    from app.processes import operations, versioning
    from app.extensions import db
    from app.models import Team, User
    from app.splits import create_split
    from app.tables.operations import create_table

    w = World(app)
    teams = {t: Team(name=name) for t, name in TEAMS.items()}
    db.session.add_all(teams.values())
    pw = hash_password(PAGE_PASSWORD)
    w.users["admin"] = User(email="admin@parity.test", name="Admin", role="admin", password_hash=pw)
    for t in TEAMS:
        for role in STAFF_ROLES:
            w.users[f"{role}_{t}"] = User(email=f"{role}-{t}@parity.test", name=f"{role} {t}", role=role,
                                          password_hash=pw, teams=[teams[t]])
        # not an actor: whom a Delegator reassigns work to
        w.users[f"worker_{t}"] = User(email=f"worker-{t}@parity.test", name=f"worker {t}", role="staff",
                                      password_hash=pw, teams=[teams[t]])
    db.session.add_all(w.users.values())
    db.session.flush()
    admin = w.users["admin"]
    for t, team in TEAMS.items():
        create_table({"key": f"t_{t}", "name": f"T {t}", "team_name": team, "fields": FIELDS}, "system")
        for key, doc in ((f"p_{t}", definition(t)), (f"q_{t}", next_lane(t)), (f"m_{t}", mail_lane(t))):
            p = operations.create_process({"key": key, "name": key, "description": "", "table": f"t_{t}",
                                           "team": team}, admin)
            versioning.publish(p, admin, "v1", definition=doc)
        create_split({"key": f"s_{t}", "name": f"S {t}", "table": f"t_{t}", "team": team,
                      "variants": [{"key": "only", "process": f"p_{t}", "version": None, "weight": 1}]}, admin)
    db.session.commit()
    for t in TEAMS:
        for state in ("open", "working", "paused", "failed", "booked", "talking"):
            w.shared[("task", t, state)] = w.fresh_task(t, state)
        w.shared[("rule", t)] = w.fresh_rule(t)
        w.shared[("link", t)] = w.fresh_link(t, w.shared[("task", t, "open")])[0]
        w.shared[("file", t)] = w.fresh_file(t, w.shared[("task", t, "open")])
    from app.inbound.webhooks import create_webhook

    create_webhook({"key": "w-a", "process": "p_a"}, w.users["designer_a"])
    revoked_link, w.shared["revoked_link_secret"] = w.fresh_link("b")
    from app.models.portal import MagicLink
    from app.participants import links

    links.revoke(db.session.get(MagicLink, revoked_link), "system")
    for name, user in w.users.items():
        scope = "admin" if user.role == "admin" else "write"   # each person's widest token
        w.api[name] = ApiClient(app.test_client(), issue_token(user, "parity", scope=scope)[1])
    token, secret = issue_token(admin, "revoked")
    revoke_token(token, None)
    w.api["revoked"] = ApiClient(app.test_client(), secret)
    db.session.commit()
    for name, user in w.users.items():
        w.pages[name] = _sign_in(app, user.email)
    # a revoked bearer token on the pages, with the CSRF token of its (cookie-less) session: what
    # answers is the missing sign-in, not the CSRF check
    from flask import g

    g.pop("csrf_token", None)
    revoked_page = ApiClient(app.test_client(), secret)
    w.pages["revoked"] = (revoked_page, csrf_from(revoked_page.client.get("/login").get_data(as_text=True)))
    w.portal_client()
    return w


def _sign_in(app, email: str):
    from flask import g

    g.pop("csrf_token", None)    # Flask-WTF caches the token on the (test-shared) app context
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": email, "password": PAGE_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client, token


def issue_scoped_token(user, scopes: tuple[str, ...]) -> str:
    """A token of `user` limited to the one scope in `scopes` (read / write / admin)."""
    from app.auth.tokens import issue_token
    from app.extensions import db

    (scope,) = scopes
    _, secret = issue_token(user, "scoped", scope=scope)
    db.session.commit()
    return secret


def relogin(w: World, actor: str) -> None:
    if actor in w.users:
        w.pages[actor] = _sign_in(w.app, w.users[actor].email)


def teardown(app) -> None:
    """What the per-test `app` fixture does at its end: empty tables and Redis, forget caches."""
    import redis

    from app.extensions import db
    from app.metrics import rollup_read
    from app.runtime.context import definition as version_definitions

    version_definitions.cache_clear()
    rollup_read.clear_cache()
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
