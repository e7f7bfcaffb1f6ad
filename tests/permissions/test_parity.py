"""The parity matrix (issue 11): every route of the app x every kind of caller x an object of their
own Team and of another, asserting the decision of parity_table.OPS on every surface — the REST
API, the HTML pages (and the flags they show), CSV, the portal and Socket.IO room joins — and that
a refused call changed nothing. It cannot go stale: a URL rule without an entry in
parity_table.ROUTES, or a rule of app.permissions no row exercises, fails here.

The world is built once per module (parity_world.py); allowed calls that change their object get a
fresh one."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from tests.helpers import db_snapshot
from tests.permissions import parity_world as pw
from tests.permissions.parity_table import OPS, RELATIONS, ROUTES, Route
from tests.permissions.parity_world import PDF

STAFF = ["admin"] + [f"{role}_{t}" for t in pw.TEAMS for role in pw.STAFF_ROLES]
ACTORS = STAFF + ["participant", "anonymous", "revoked"]
UNAUTHENTICATED = ("participant", "anonymous", "revoked")

# Extension point (API token scopes, another change): (actor name, its user, scopes) rows, e.g.
# ("staff_a_read", "staff_a", ("read",)). Each becomes an API actor (its token minted by
# parity_world.issue_scoped_token) whose calls to operations needing a scope it lacks
# (required_scope) must answer 403, and otherwise exactly as its user's.
SCOPED_TOKEN_ACTORS: list[tuple[str, str, tuple[str, ...]]] = [
    ("staff_a_read", "staff_a", ("read",)), ("designer_a_read", "designer_a", ("read",)),
    ("manager_a_read", "manager_a", ("read",)), ("admin_write", "admin", ("write",)),
]
SCOPED = {name: (base, scopes) for name, base, scopes in SCOPED_TOKEN_ACTORS}

# rules of app.permissions exercised through another row of OPS
COVERED_BY = {"token.revoke_any": "token.admin", "process.move_into": "task.move", "run.start": "run.complete", "run.write": "task.write",
              "token.view": "GET /api/v1/tokens", "token.revoke": "token.own / token.other",
              "split.design": "webhook.create (a Split target)", "person.view": "GET /api/v1/people",
              "team.members": "GET /api/v1/teams",
              "intake.submit": "POST /portal/intake/<key> (tests/start/test_intake.py)"}
PUBLIC_WRITES = {"/password/set/<token>"}   # public calls that change state when they succeed (the link is the credential)
ADMIN_OPS = {"user.manage", "team.manage"}   # admin-only operations outside /api/v1/admin: tokens need the admin scope


@pytest.fixture(scope="module")
def world(_app):
    ctx = _app.app_context()
    ctx.push()
    from argon2 import PasswordHasher

    from app.auth import passwords

    saved, passwords._hasher = passwords._hasher, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    try:
        w = pw.build(_app)
        for name, (base, scopes) in SCOPED.items():
            w.api[name] = pw.ApiClient(_app.test_client(), pw.issue_scoped_token(w.users[base], scopes))
        yield w
    finally:
        passwords._hasher = saved
        pw.teardown(_app)
        ctx.pop()


SCOPE_ORDER = ("read", "write", "admin")


def covers(have: str, need: str) -> bool:
    return SCOPE_ORDER.index(have) >= SCOPE_ORDER.index(need)


def required_scope(route: Route) -> str:
    """What a token needs for a route (app.auth.access): admin under /api/v1/admin, read for GET/HEAD,
    write for anything that changes state."""
    if route.rule.startswith("/api/v1/admin") or route.op in ADMIN_OPS:
        return "admin"
    return "read" if route.method in ("GET", "HEAD") else "write"


def relation(actor: str, t: str | None) -> str:
    actor = SCOPED.get(actor, (actor,))[0]
    if actor in ("admin", *UNAUTHENTICATED):
        return actor
    role, team = actor.rsplit("_", 1)
    return role if t is None or team == t else f"{role}_x"


def expected(route: Route, actor: str, t: str | None) -> str:
    """Y allowed, F 403, N 404, U unauthenticated (401 / redirect to the login page), or a status."""
    if actor in SCOPED:     # its user's answer, unless the token lacks the operation's scope
        base, scopes = SCOPED[actor]
        want = expected(route, base, t)
        return "F" if want != "U" and not any(covers(s, required_scope(route)) for s in scopes) else want
    op, rel = route.op, relation(actor, t)
    if op.startswith("public:"):
        return op.split(":")[1]
    if route.kind == "portal":
        if op == "portal:link":
            return "Y" if t == "a" else "N"         # the link is the credential: valid / revoked
        if op == "portal:home":
            return "Y" if actor == "participant" else "N"
        return "Y" if actor == "participant" and t == "a" else "N"
    if rel in UNAUTHENTICATED or op == "logout":
        return "U"                                  # logout: everyone ends on the login page
    if op == "token.own":
        return "Y"
    if op == "token.other":
        return "N"
    return OPS[op][RELATIONS.index(rel)]


def outcome(route: Route, resp) -> str:
    s = resp.status_code
    if route.op.startswith("public:"):
        return str(s)
    if s == 401 or (s == 302 and "/login" in resp.headers.get("Location", "")):
        return "U"
    return {403: "F", 404: "N"}.get(s, "Y" if 200 <= s < 400 else f"status {s}")


@dataclass
class Ctx:
    w: pw.World
    route: Route
    actor: str
    t: str | None
    fresh: bool

    @property
    def base(self) -> str:
        """The person behind the actor (a scoped token's user)."""
        return SCOPED.get(self.actor, (self.actor,))[0]

    @property
    def team(self) -> str:
        return pw.TEAMS[self.t or "a"]

    want: str = "Y"

    def __post_init__(self):
        self._client = self._portal = self.before = None

    def portal_session(self):
        if self._portal is None:   # opening a link elsewhere ends the session: never the shared one then
            self._portal = self.w.portal_client(fresh=self.fresh or self.route.op == "portal:link")
        return self._portal

    def send(self, method: str, path: str, **kw):
        """The HTTP call, after every object it needs was made: the state a refusal must keep."""
        client = self.client()
        if (self.want in "FNU" and self.route.op != "logout") or self.want.isdigit():  # signing out writes
            self.before = db_snapshot()
        if self.route.kind == "portal":   # the portal's per-address limits
            kw["environ_overrides"] = {"REMOTE_ADDR": f"127.0.2.{next(self.w.counter) % 250 + 1}"}
        return getattr(client, method)(path, **kw)

    def client(self):
        if self._client is None:
            kind, w, actor = self.route.kind, self.w, self.actor
            if actor == "participant":
                self._client = self.portal_session()[0]
            elif actor == "anonymous":
                self._client = w.app.test_client()
            elif kind == "api" or (kind == "public" and self.route.rule.startswith("/api")):
                self._client = w.api[actor]
            else:
                self._client = w.pages[actor][0]
        return self._client

    def get(self, path):
        return self.send("get", path)

    def post(self, path, json=None):
        return self.send("post", path, json=json)

    def patch(self, path, json=None):
        return self.send("patch", path, json=json)

    def put(self, path, json=None):
        return self.send("put", path, json=json)

    def delete(self, path):
        return self.send("delete", path)

    def form(self, path, data=None):
        """A form post with the client's CSRF token (callers without a session get one first)."""
        if self.actor in self.w.pages:
            token = self.w.pages[self.actor][1]
        else:
            from flask import g

            from tests.helpers import csrf_from

            g.pop("csrf_token", None)
            token = csrf_from(self.client().get("/login").get_data(as_text=True))
        return self.send("post", path, data={**(data or {}), "csrf_token": token})

    def portal(self, path, data):
        token = self.portal_session()[1] if self.actor == "participant" else ""
        return self.send("post", path, data={**data, "form_token": token})

    # objects: shared, or fresh when an allowed call would change them for good
    def uid(self, prefix):
        return self.w.uid(prefix)

    def user(self, name):
        return self.w.users[name]

    def task(self, state="open"):
        return self.w.task(self.t, self.fresh, state)

    def run(self, stage, state="open"):
        if self.actor == "participant" and self.fresh:   # the fresh portal session's own Task
            return self.w.run_of(self.portal_session()[2], stage)
        return self.w.run(self.t, stage, self.fresh, state)

    def file(self):
        if self.actor == "participant" and self.fresh:   # a file of the fresh portal session's own Task
            return self.w.fresh_file("a", self.portal_session()[2])
        return self.w.fresh_file(self.t) if self.fresh else self.w.shared[("file", self.t)]

    def upload(self, path):
        """A raw-body upload (the portal's carries the session's form token in X-Form-Token)."""
        headers = {"X-Form-Token": self.portal_session()[1]} if self.actor == "participant" else None
        return self.send("post", path + "?name=proof.pdf", data=PDF, content_type="application/octet-stream",
                         **({"headers": headers} if headers else {}))

    def portal_header(self, method, path):
        if self.actor != "participant":   # others' clients may be API clients that set their own headers
            return self.send(method, path)
        return self.send(method, path, headers={"X-Form-Token": self.portal_session()[1]})

    def process(self):
        return self.w.fresh_process(self.t) if self.fresh else f"p_{self.t}"

    def link(self):
        return self.w.fresh_link(self.t)[0] if self.fresh else self.w.shared[("link", self.t)]

    def link_secret(self):
        return self.w.fresh_link("a")[1] if self.t == "a" else self.w.shared["revoked_link_secret"]

    def rule(self):
        return self.w.fresh_rule(self.t) if self.fresh else self.w.shared[("rule", self.t)]

    def field(self):
        return self.w.fresh_field(self.t) if self.fresh else "note"

    def any_token(self):
        return self.w.fresh_token("admin")

    def draft(self):
        from app.processes import versioning

        draft = versioning.get_draft(versioning.get_process(f"p_{self.t}"))
        return {"definition": draft.definition, "revision": draft.revision}

    def export(self):
        from app.processes import versioning

        return versioning.export_process(versioning.get_process(f"p_{self.t}"))


def _flag(c: Ctx, resp, route: Route) -> str | None:
    """A page's flag (e.g. data-can-edit) must show exactly when its operation is allowed."""
    marker, op = route.flag
    marker = marker.replace("{task}", str(c.task()))
    shown = marker in resp.get_data(as_text=True)
    allowed = expected(Route(route.rule, route.method, op, route.call, route.kind), c.actor, c.t) == "Y"
    return None if shown == allowed else f"flag {marker!r} shown={shown}, but {op} allowed={allowed}"


def _changed(before: dict, after: dict, route: Route) -> list[str]:
    """What a refused call changed; a refused magic link or callback is logged (an audit Event), by design."""
    audited = route.op == "portal:link" or route.rule == "/api/v1/callbacks/<token>"
    return [k for k in before if before[k] != after[k] and not (k == "events" and audited)
            and route.rule not in PUBLIC_WRITES]


def _rid(route: Route) -> str:
    return f"{route.method} {route.rule} [{route.op}]"


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
def test_route(world, route):
    from app.extensions import db

    failures = []
    for actor in ACTORS + (list(SCOPED) if route.kind == "api" else []):
        for t in route.teams:
            want = expected(route, actor, t)
            c = Ctx(world, route, actor, t, fresh=route.fresh and want == "Y", want=want)
            resp = route.call(c)
            db.session.rollback()                # see what the request committed, nothing else
            got = outcome(route, resp)
            where = f"{actor} on an object of team {t}" if t else actor
            if got != want:
                failures.append(f"{where}: expected {want}, got {got} ({resp.status_code}: "
                                f"{resp.get_data(as_text=True)[:160]!r})")
            elif c.before is not None and _changed(c.before, db_snapshot(), route):
                failures.append(f"{where}: refused ({got}) but the database changed: {_changed(c.before, db_snapshot(), route)}")
            elif route.flag and got == "Y" and (problem := _flag(c, resp, route)):
                failures.append(f"{where}: {problem}")
            if route.op == "logout":
                pw.relogin(world, actor)
    assert not failures, f"{_rid(route)}:\n" + "\n".join(failures)


def test_every_url_rule_has_an_entry(_app):
    """A new route fails here until parity_table.ROUTES says who may call it."""
    have = {(r.rule, r.method) for r in ROUTES}
    rules = {(rule.rule, m) for rule in _app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}}
    missing = sorted(rules - have)
    assert not missing, ("Add an entry (who may call it, on which object) to ROUTES in "
                         f"tests/permissions/parity_table.py for: {missing}")
    assert not sorted(have - rules), f"ROUTES names rules the app no longer has: {sorted(have - rules)}"


def test_every_permission_rule_is_in_the_matrix():
    from app.permissions import RULES

    named = {op.split(":")[0] for op in OPS} | set(COVERED_BY)
    missing = sorted(op for op in RULES if op not in named)
    assert not missing, f"app.permissions decides {missing}: add them to OPS (or COVERED_BY) in the parity matrix"


@pytest.mark.parametrize("actor", STAFF)
def test_lists_and_csv_show_exactly_the_visible_tasks(world, actor):
    """The API list, the Table page and its CSV list a Task exactly when "task.view" allows it."""
    failures = []
    api = world.api[actor]
    page = world.pages[actor][0]
    listed, page_no = set(), 1
    while True:
        body = api.get(f"/api/v1/tasks?per_page=500&page={page_no}").get_json()
        listed |= {t["id"] for t in body["items"]}
        if page_no * 500 >= body["total"]:
            break
        page_no += 1
    for t in pw.TEAMS:
        html, url = "", f"/queue/tables/t_{t}"
        while url:      # every page of the Table view (PAGE_SIZE rows each)
            part = page.get(url).get_data(as_text=True)
            html += part
            url = part.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&") if 'rel="next"' in part else ""
        rows = csv.DictReader(io.StringIO(page.get(f"/queue/tables/t_{t}?format=csv").get_data(as_text=True)))
        in_csv = {int(r["task"]) for r in rows}
        sees = OPS["task.view"][RELATIONS.index(relation(actor, t))] == "Y"
        for state in ("open", "working", "paused", "failed"):
            tid = world.shared[("task", t, state)]
            for surface, shown in (("API list", tid in listed), ("CSV", tid in in_csv),
                                   ("Table page", f'/queue/tasks/{tid}"' in html)):
                if shown != sees:
                    failures.append(f"{actor}, task {tid} of team {t}: {surface} shows it={shown}, task.view={sees}")
    assert not failures, "\n".join(failures)


def test_socket_room_joins_follow_the_same_decisions(world, live_server):
    """Socket.IO: `task:<id>` as "task.view", `process:<id>` as "process.watch"; callers who are
    not signed in (anonymous, a participant, a revoked token) cannot even connect. The callers
    connect side by side (closing a socket waits on the server for a few seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.extensions import db
    from app.models import Process

    rooms = {t: ((f"task:{world.shared[('task', t, 'open')]}", "task.view"),
                 (f"process:{db.session.scalar(db.select(Process.id).where(Process.key == f'p_{t}'))}",
                  "process.watch")) for t in pw.TEAMS}
    headers = {}
    for actor in ACTORS:
        if actor == "revoked":
            headers[actor] = dict(world.api["revoked"].headers)
        elif actor == "anonymous":
            headers[actor] = {}
        else:
            client = world.portal_client()[0] if actor == "participant" else world.pages[actor][0]
            headers[actor] = {"Cookie": f"session={client.get_cookie('session').value}"}
    with ThreadPoolExecutor(len(ACTORS)) as pool:
        failures = [f for found in pool.map(lambda a: _socket_actor(live_server, a, headers[a], rooms), ACTORS)
                    for f in found]
    assert not failures, "\n".join(failures)


def _socket_actor(url: str, actor: str, headers: dict, rooms: dict) -> list[str]:
    import socketio

    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(url, headers=headers, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return [] if actor in UNAUTHENTICATED else [f"{actor}: could not connect"]
    failures = [f"{actor}: connected without being signed in"] if actor in UNAUTHENTICATED else []
    for t, pairs in rooms.items():
        for room, op in pairs:
            joined = (sio.call("join", {"room": room}, timeout=5) or {}).get("ok") is True
            allowed = OPS[op][RELATIONS.index(relation(actor, t))] == "Y" if actor not in UNAUTHENTICATED else False
            if joined != allowed:
                failures.append(f"{actor} joining {room}: joined={joined}, {op} allowed={allowed}")
    sio.disconnect()
    return failures
