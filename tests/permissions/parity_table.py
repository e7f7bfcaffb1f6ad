"""The parity matrix's table of expectations: every URL rule of the app, with the operation it
performs and how to call it. test_parity.py fails for any rule of `app.url_map` missing here.

OPS says, per operation, what each kind of staff user may do with an object of *their own Team*
(relation without "_x") or of *another Team* (relation "_x"): Y allowed, F forbidden (403), N
invisible (404). Every surface offering an operation (REST API, HTML pages, CSV, portal, Socket.IO)
is held to that one row: the same decision everywhere. Anonymous callers, revoked tokens and
participants outside the portal are unauthenticated (API 401, pages redirect to /login)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.permissions.parity_world import PAGE_PASSWORD

RELATIONS = ("admin", "designer", "designer_x", "staff", "staff_x", "manager", "manager_x")

OPS: dict[str, str] = {               # admin, designer, designer_x, staff, staff_x, manager, manager_x
    "task.view":                "YYNYNYN",
    "task.write":               "YYNYNYN",   # `note`, written by the open `work`
    "task.write.outside":       "FFNFNFN",   # `name`: no open Stage writes it
    "task.move":                "YYNYNYN",   # to q_<t>: Responsible, managers and designers of the Team
    "task.invite":              "YYNYNYN",
    "task.cancel":              "YYNFNYN",   # the Team's managers and designers
    "task.signal":              "YYNYNYN",   # whoever may start Tasks there (the Team) and its managers
    "run.view":                 "YYNYNYN",
    "run.complete":             "YYNYNYN",
    "run.claim":                "YYNYNYN",
    "run.release":              "YYNYNYN",
    "run.pause":                "YYNYNYN",
    "run.resume":               "YYNYNYN",
    "run.retry":                "YYNYNYN",
    "run.advance":              "YYNYNYN",   # a manual gate: Responsible or Approver
    "run.comment":              "YYNYNYN",
    "run.skip":                 "YYNFNYN",   # a Delegator (the Team's manager) or the Team's managers
    "run.cancel":               "YYNFNYN",
    "run.reply":                "YYNYNYN",   # an email conversation: its Responsible (the Team)
    "run.reassign":             "YYNFNYN",   # Delegators (the Team's manager) and privileged users
    "run.approve":              "YYNFNYN",   # approvers: the Team's manager (and the participant)
    "run.reject":               "YYNFNYN",
    "run.view_ai":              "YYNYNYN",   # an AI Prompt run's prompt and answer: Responsible, approvers, managers
    "file.upload":              "YYNYNYN",   # into `files` (a File upload Stage writing `docs`), or withdraw
    "file.read":                "YYNYNYN",   # `docs`, read by `files`
    "file.review":              "YYNYNYN",   # who may complete the file's Stage Run
    "booking.change":           "YYNYNYN",   # reschedule / cancel: whoever may work the Calendar Schedule Stage
    "process.view":             "YYYYYYY",   # definitions hold no Task data
    "process.create":           "YYFFFFF",
    "process.design":           "YYFFFFF",
    "process.alerts":           "YYFFFFF",
    "process.alert_rule":       "YYNNNNN",   # another Team's rule is not revealed
    "process.watch":            "YYFYFYF",   # live counts / the process room: whoever may see its Tasks
    "process.start":            "YYFYFYF",   # start.roles = the Team
    "process.start.outside":    "FFFFFFF",   # `note` is not in start.writes
    "process.migrate":          "YYFFFYF",
    "process.intake":           "YFFFFFF",   # switching the public intake form: admins only
    "outbox.read":              "YFFFFFF",   # the development mailbox: admins only
    "split.view":               "YYYYYYY",
    "split.create":             "YYFFFFF",
    "split.weights":            "YYFFFYF",
    "split.start":              "YYFYFYF",
    "import.start":             "YYFYFYF",   # a CSV import of Tasks: whoever may start them (process.start)
    "import.view":              "YYNNNYN",   # an import by worker_<t>: its uploader, admins, the Team's designers and managers
    "webhook.create":           "YYFFFFF",
    "table.view":               "YYYYYYY",
    "table.create":             "YYFFFFF",
    "table.edit":               "YYFFFFF",
    "metrics.read":             "YYYFFYY",   # roles only: aggregates, no Field values
    "token.admin":              "YFFFFFF",   # everyone's tokens: admins only
    "secret.manage":            "YYNFNFN",   # a Team's secrets: its designers and admins; others' unseen
    "user.manage":              "YFFFFFF",   # people: invite, role, Teams, deactivate, resets: admins only
    "team.manage":              "YFFFFFF",   # creating Teams: admins only
    "signed_in":                "YYYYYYY",   # lists filtered per caller, the caller's own pages
}



def _intake_on() -> str:
    """p_a with its public intake form switched on (anyone may open it: the form is the point)."""
    from app.extensions import db
    from app.models import Process

    db.session.execute(db.update(Process).where(Process.key == "p_a").values(intake_enabled=True))
    db.session.commit()
    return "p_a"


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    op: str                             # a key of OPS, or a special expectation (see `special`)
    call: Callable                      # call(c: Ctx) -> response
    kind: str = "api"                   # api | page | portal | public
    fresh: bool = False                 # an allowed call changes its object for good: make one
    teams: tuple = ("a", "b")           # object of Team Alpha (own for *_a) and of Beta; (None,) = no object
    flag: tuple | None = None           # (marker in the page, op): the page shows it iff op is allowed


def R(rule, method, op, call, **kw) -> Route:
    return Route(rule, method, op, call, **kw)


RUN = "/api/v1/runs/<int:run_id>"
Q = "/queue/runs/<int:run_id>"
P = "/api/v1/processes/<key>"
T = "/api/v1/tables/<key>"
AR = "/api/v1/alerts/rules"


def _act(op, stage, state="open", **form):
    action = op.split(".")[1]
    return R(f"{Q}/act", "POST", op, lambda c: c.form(f"/queue/runs/{c.run(stage, state)}/act",
                                                      {"action": action, **form}), kind="page", fresh=True)


def _run_api(action, op, stage, state="open", body=None):
    return R(f"{RUN}/{action}", "POST", op, lambda c: c.post(f"/api/v1/runs/{c.run(stage, state)}/{action}",
                                                              json=body), fresh=True)


def _import(c) -> int:
    """A CSV import into p_<t> uploaded by worker_<t> (a staff member of that Team)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Process, TaskImport

    imp = TaskImport(process_id=db.session.scalar(select(Process.id).where(Process.key == f"p_{c.t}")),
                     created_by_id=c.user(f"worker_{c.t}").id, filename="t.csv", state="done", columns=["name"],
                     total_rows=1, processed_rows=1, failed_rows=1)
    db.session.add(imp)
    db.session.commit()
    return imp.id


def _inactive_person(c) -> int:
    from app.extensions import db
    from app.models import User

    uid = c.w.fresh_person(c.t)
    db.session.get(User, uid).active = False
    db.session.commit()
    return uid


def _book(c, path: str, token: bool = True):
    """A JSON booking call (the slot pickers' own way), with the portal form token for the participant."""
    body = {"start": c.w.slot(), "time_zone": "Europe/Paris"}
    if token:
        body["form_token"] = c.portal_session()[1] if c.actor == "participant" else ""
    return c.send("post", path, json=body)


def _booking_token(c) -> str:
    """A valid signed booking link for Alpha's Task; a forged one (another key) for Beta's."""
    if c.t == "a":
        return c.w.booking_token("a", c.fresh)
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer("forged", salt="procly.booking-link").dumps({"b": 1, "u": "x"})


BOOKING_ROUTES: list[Route] = [
    R(f"{RUN}/slots", "GET", "run.view", lambda c: c.get(f"/api/v1/runs/{c.run('meet')}/slots")),
    R(f"{RUN}/booking", "POST", "run.complete", fresh=True,
      call=lambda c: c.post(f"/api/v1/runs/{c.run('meet')}/booking", json={"start": c.w.slot()})),
    R(f"{RUN}/booking", "GET", "booking.change", lambda c: c.get(f"/api/v1/runs/{c.run('meet', 'booked')}/booking")),
    R(f"{RUN}/booking/slots", "GET", "booking.change",
      lambda c: c.get(f"/api/v1/runs/{c.run('meet', 'booked')}/booking/slots")),
    R(f"{RUN}/booking/reschedule", "POST", "booking.change", fresh=True, call=lambda c: c.post(
        f"/api/v1/runs/{c.run('meet', 'booked')}/booking/reschedule", json={"start": c.w.slot()})),
    R(f"{RUN}/booking/cancel", "POST", "booking.change", fresh=True,
      call=lambda c: c.post(f"/api/v1/runs/{c.run('meet', 'booked')}/booking/cancel")),
    R("/portal/runs/<int:run_id>/slots", "GET", "run.view", kind="portal",
      call=lambda c: c.get(f"/portal/runs/{c.run('meet')}/slots")),
    R("/portal/runs/<int:run_id>/booking", "POST", "run.complete", kind="portal", fresh=True,
      call=lambda c: _book(c, f"/portal/runs/{c.run('meet')}/booking")),
    # the signed link is the credential (as a magic link): valid for Alpha's booking, forged for Beta's
    R("/portal/b/<token>", "GET", "portal:link", lambda c: c.get(f"/portal/b/{_booking_token(c)}"), kind="portal"),
    R("/portal/b/<token>/slots", "GET", "portal:link", kind="portal",
      call=lambda c: c.get(f"/portal/b/{_booking_token(c)}/slots")),
    R("/portal/b/<token>/reschedule", "POST", "portal:link", kind="portal", fresh=True,
      call=lambda c: _book(c, f"/portal/b/{_booking_token(c)}/reschedule", token=False)),
    R("/portal/b/<token>/cancel", "POST", "portal:link", kind="portal", fresh=True,
      call=lambda c: c.send("post", f"/portal/b/{_booking_token(c)}/cancel")),
    R("/portal/b/cancelled", "GET", "public:200", lambda c: c.get("/portal/b/cancelled"), kind="public", teams=(None,)),
]


ROUTES: list[Route] = [
    *BOOKING_ROUTES,
    # --- runs: the REST API and the queue page, the same decision -------------------------------
    R(RUN, "GET", "run.view", lambda c: c.get(f"/api/v1/runs/{c.run('work')}")),
    R("/api/v1/ai/runs/<int:run_id>", "GET", "run.view_ai", lambda c: c.get(f"/api/v1/ai/runs/{c.run('work')}")),
    _run_api("complete", "run.complete", "work", body={"values": {"note": "done"}}),
    _run_api("approve", "run.approve", "sign", body={}),
    _run_api("reject", "run.reject", "sign", body={}),
    _run_api("advance", "run.advance", "hold"),
    _run_api("pause", "run.pause", "work", "working"),
    _run_api("resume", "run.resume", "work", "paused"),
    _run_api("retry", "run.retry", "work", "failed"),
    _run_api("claim", "run.claim", "work", body={}),
    R(f"{RUN}/claim", "POST", "run.reassign", fresh=True, call=lambda c: c.post(
        f"/api/v1/runs/{c.run('work')}/claim", json={"assignee": c.user(f"worker_{c.t}").id})),
    _run_api("release", "run.release", "work"),
    _run_api("skip", "run.skip", "work", body={"reason": "parity"}),
    _run_api("cancel", "run.cancel", "work", body={"reason": "parity"}),
    R(f"{Q}/withdraw", "POST", "run.skip", lambda c: c.form(f"/queue/runs/{c.run('work')}/withdraw",
                                                             {"action": "skip", "reason": "parity"}),
      kind="page", fresh=True),
    _act("run.complete", "work", f_note="done"),
    _act("run.approve", "sign"),
    _act("run.reject", "sign"),
    _act("run.advance", "hold"),
    _act("run.pause", "work", "working"),
    _act("run.resume", "work", "paused"),
    _act("run.retry", "work", "failed"),
    R(f"{Q}/checklist", "POST", "run.complete", lambda c: c.form(f"/queue/runs/{c.run('work')}/checklist"),
      kind="page"),
    R(f"{Q}/claim", "POST", "run.claim", lambda c: c.form(f"/queue/runs/{c.run('work')}/claim"), kind="page",
      fresh=True),
    R(f"{Q}/release", "POST", "run.release", lambda c: c.form(f"/queue/runs/{c.run('work')}/release"),
      kind="page", fresh=True),
    R(f"{Q}/reassign", "POST", "run.reassign", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/runs/{c.run('work')}/reassign", {"assignee": c.user(f"worker_{c.t}").email})),
    R(f"{Q}/comments", "POST", "run.comment", lambda c: c.form(f"/queue/runs/{c.run('work')}/comments",
                                                                {"body": "hi"}), kind="page", fresh=True),
    # --- email conversations: the REST API and the Task page --------------------------------------
    R("/api/v1/conversations/<int:run_id>", "GET", "run.view",
      lambda c: c.get(f"/api/v1/conversations/{c.run('mail', 'talking')}")),
    R("/api/v1/conversations/<int:run_id>/replies", "POST", "run.reply", fresh=True, call=lambda c: c.post(
        f"/api/v1/conversations/{c.run('mail', 'talking')}/replies", json={"body": "hello"})),
    R("/api/v1/conversations/<int:run_id>/done", "POST", "run.complete", fresh=True,
      call=lambda c: c.post(f"/api/v1/conversations/{c.run('mail', 'talking')}/done")),
    R(f"{Q}/email/reply", "POST", "run.reply", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/runs/{c.run('mail', 'talking')}/email/reply", {"body": "hello"})),
    R(f"{Q}/email/done", "POST", "run.complete", kind="page", fresh=True,
      call=lambda c: c.form(f"/queue/runs/{c.run('mail', 'talking')}/email/done")),
    # --- files: File upload Stage Runs, stored files ---------------------------------------------
    R(f"{RUN}/files", "POST", "file.upload", lambda c: c.upload(f"/api/v1/runs/{c.run('files')}/files"), fresh=True),
    R(f"{RUN}/files", "GET", "run.view", lambda c: c.get(f"/api/v1/runs/{c.run('files')}/files")),
    R("/api/v1/tasks/<int:task_id>/files", "GET", "task.view", lambda c: c.get(f"/api/v1/tasks/{c.task()}/files")),
    R("/api/v1/files/<int:file_id>", "GET", "file.read", lambda c: c.get(f"/api/v1/files/{c.file()}")),
    R("/api/v1/files/<int:file_id>/content", "GET", "file.read",
      lambda c: c.get(f"/api/v1/files/{c.file()}/content")),
    R("/api/v1/files/<int:file_id>/review", "POST", "file.review", fresh=True,
      call=lambda c: c.post(f"/api/v1/files/{c.file()}/review", json={"status": "accepted"})),
    R("/api/v1/files/<int:file_id>", "DELETE", "file.upload", fresh=True,
      call=lambda c: c.delete(f"/api/v1/files/{c.file()}")),
    R("/portal/runs/<int:run_id>/files", "POST", "file.upload", kind="portal", fresh=True,
      call=lambda c: c.upload(f"/portal/runs/{c.run('files')}/files")),
    R("/portal/runs/<int:run_id>/files", "GET", "run.view", kind="portal",
      call=lambda c: c.get(f"/portal/runs/{c.run('files')}/files")),
    R("/portal/files/<int:file_id>", "GET", "file.read", kind="portal", call=lambda c: c.get(f"/portal/files/{c.file()}")),
    R("/portal/files/<int:file_id>", "DELETE", "file.upload", kind="portal", fresh=True,
      call=lambda c: c.portal_header("delete", f"/portal/files/{c.file()}")),
    R("/portal/runs/<int:run_id>/files/done", "POST", "run.complete", kind="portal", fresh=True,
      call=lambda c: c.portal(f"/portal/runs/{c.run('files')}/files/done", {})),
    # --- Tasks ----------------------------------------------------------------------------------
    R("/api/v1/tasks", "GET", "signed_in", lambda c: c.get("/api/v1/tasks"), teams=(None,)),
    R("/api/v1/tasks", "POST", "process.start", lambda c: c.post("/api/v1/tasks", json={
        "process": f"p_{c.t}", "values": {"name": "new"}})),
    R("/api/v1/tasks", "POST", "process.start.outside", lambda c: c.post("/api/v1/tasks", json={
        "process": f"p_{c.t}", "values": {"note": "sneaked in"}})),
    R("/api/v1/tasks", "POST", "split.start", lambda c: c.post("/api/v1/tasks", json={
        "split": f"s_{c.t}", "values": {"name": "new"}})),
    R("/api/v1/tasks/batch", "POST", "process.start", lambda c: c.post("/api/v1/tasks/batch", json={
        "tasks": [{"process": f"p_{c.t}", "values": {"name": "one"}}]})),
    R("/api/v1/imports", "POST", "import.start", lambda c: c.send(
        "post", f"/api/v1/imports?process=p_{c.t}&name=t.csv", data=b"name\nnew\n", content_type="text/csv")),
    R("/api/v1/imports/<int:import_id>", "GET", "import.view", lambda c: c.get(f"/api/v1/imports/{_import(c)}")),
    R("/api/v1/imports/<int:import_id>/errors.csv", "GET", "import.view",
      lambda c: c.get(f"/api/v1/imports/{_import(c)}/errors.csv")),
    R("/queue/new", "GET", "signed_in", lambda c: c.get("/queue/new"), kind="page", teams=(None,)),
    R("/queue/new/<key>", "GET", "process.start", lambda c: c.get(f"/queue/new/p_{c.t}"), kind="page"),
    R("/queue/new/<key>/import", "GET", "process.start", lambda c: c.get(f"/queue/new/p_{c.t}/import"),
      kind="page"),
    R("/queue/new/<key>", "POST", "process.start", lambda c: c.form(f"/queue/new/p_{c.t}", {"f_name": "new"}),
      kind="page"),
    R("/queue/new/<key>", "POST", "process.start.outside", kind="page",
      call=lambda c: c.form(f"/queue/new/p_{c.t}", {"f_note": "sneaked in"})),
    R("/queue/new/<key>/intake", "POST", "process.intake", kind="page",
      call=lambda c: c.form(f"/queue/new/p_{c.t}/intake", {"on": "1"})),
    R("/portal/intake/<key>", "GET", "public:200", lambda c: c.get(f"/portal/intake/{_intake_on()}"), kind="public",
      teams=(None,)),
    R("/portal/intake/<key>", "POST", "public:400", kind="public", teams=(None,),   # no form token: refused
      call=lambda c: c.send("post", f"/portal/intake/{_intake_on()}", data={"f_name": "x"},
                            environ_overrides={"REMOTE_ADDR": f"127.0.4.{next(c.w.counter) % 250 + 1}"})),
    R("/api/v1/tasks/<int:task_id>", "GET", "task.view", lambda c: c.get(f"/api/v1/tasks/{c.task()}")),
    R("/api/v1/tasks/<int:task_id>", "PATCH", "task.write", fresh=True, call=lambda c: c.patch(
        f"/api/v1/tasks/{c.task()}", json={"values": {"note": "changed"}})),
    R("/api/v1/tasks/<int:task_id>", "PATCH", "task.write.outside", lambda c: c.patch(
        f"/api/v1/tasks/{c.task()}", json={"values": {"name": "renamed"}})),
    R("/queue/tasks/<int:task_id>", "GET", "task.view", lambda c: c.get(f"/queue/tasks/{c.task()}"), kind="page",
      flag=('action="/queue/tasks/{task}/move"', "task.move")),
    R("/queue/tasks/<int:task_id>/values", "POST", "task.write", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/tasks/{c.task()}/values", {"f_note": "changed"})),
    R("/queue/tasks/<int:task_id>/move", "POST", "task.move", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/tasks/{c.task()}/move", {"process": f"q_{c.t}", "reason": "parity"})),
    R("/queue/tasks/<int:task_id>/invite", "POST", "task.invite", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/tasks/{c.task()}/invite", {"email": "guest@example.com"})),
    R("/queue/links/<int:link_id>/revoke", "POST", "task.view", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/links/{c.link()}/revoke")),
    R("/api/v1/tasks/<int:task_id>/cancel", "POST", "task.cancel", fresh=True, call=lambda c: c.post(
        f"/api/v1/tasks/{c.task()}/cancel", json={"reason": "parity"})),
    R("/api/v1/tasks/cancel", "POST", "task.cancel", fresh=True, call=lambda c: c.post(
        "/api/v1/tasks/cancel", json={"task_ids": [c.task()], "reason": "parity"})),
    R("/api/v1/tasks/<int:task_id>/signals", "POST", "task.signal", fresh=True, call=lambda c: c.post(
        f"/api/v1/tasks/{c.task()}/signals", json={"name": "ping"})),
    R("/api/v1/tasks/signals", "POST", "task.signal", fresh=True, call=lambda c: c.post(
        "/api/v1/tasks/signals", json={"name": "ping", "key": c.w.task_key(c.task())})),
    R("/api/v1/tasks/<int:task_id>/events", "GET", "task.view", lambda c: c.get(f"/api/v1/tasks/{c.task()}/events")),
    # --- a Process's board: opening it is watching the Process; a card dropped on the `hold` gate advances it
    R("/queue/boards", "GET", "signed_in", lambda c: c.get("/queue/boards"), kind="page", teams=(None,)),
    R("/queue/boards/<key>", "GET", "process.watch", lambda c: c.get(f"/queue/boards/p_{c.t}"), kind="page"),
    R("/queue/boards/<key>/stages/<stage>", "GET", "process.watch", kind="page",
      call=lambda c: c.get(f"/queue/boards/p_{c.t}/stages/work")),
    R("/queue/boards/<key>/move", "POST", "run.advance", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/boards/p_{c.t}/move", {"task_id": str(c.task()), "stage": "hold"})),
    R("/queue/tasks/<int:task_id>/cancel", "POST", "task.cancel", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/tasks/{c.task()}/cancel", {"reason": "parity"})),
    R("/api/v1/runs/retry", "POST", "run.retry", fresh=True, call=lambda c: c.post(
        "/api/v1/runs/retry", json={"run_ids": [c.run("work", "failed")]})),
    R("/queue/tables/<key>/retry", "POST", "task.view", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/tables/t_{c.t}/retry", {"task_ids": str(c.task("failed"))})),
    R("/queue/tables/<key>/cancel", "POST", "task.cancel", kind="page", fresh=True, call=lambda c: c.form(
        f"/queue/tables/t_{c.t}/cancel", {"task_ids": str(c.task()), "reason": "parity"})),
    R("/api/v1/moves", "POST", "task.move", fresh=True, call=lambda c: c.post("/api/v1/moves", json={
        "task_ids": [c.task()], "target": {"process": f"q_{c.t}"}, "reason": "parity"})),
    R("/api/v1/migrations", "POST", "process.migrate", lambda c: c.post("/api/v1/migrations", json={
        "process": f"p_{c.t}", "to_version": c.w.current_version(c.t)})),
    # --- Processes --------------------------------------------------------------------------------
    R("/api/v1/processes", "GET", "signed_in", lambda c: c.get("/api/v1/processes"), teams=(None,)),
    R("/api/v1/processes", "POST", "process.create", lambda c: c.post("/api/v1/processes", json={
        "key": c.uid("np"), "name": "New", "table": f"t_{c.t}", "team": c.team})),
    R(P, "GET", "process.view", lambda c: c.get(f"/api/v1/processes/p_{c.t}")),
    R(P, "PATCH", "process.design", lambda c: c.patch(f"/api/v1/processes/p_{c.t}", json={"description": "d"})),
    R(f"{P}/archive", "POST", "process.design", fresh=True, call=lambda c: c.post(
        f"/api/v1/processes/{c.process()}/archive")),
    R(f"{P}/archive", "DELETE", "process.design", fresh=True, call=lambda c: c.delete(
        f"/api/v1/processes/{c.process()}/archive")),
    R(f"{P}/diff", "GET", "process.view", lambda c: c.get(f"/api/v1/processes/p_{c.t}/diff?from=1&to=1")),
    R(f"{P}/draft", "GET", "process.view", lambda c: c.get(f"/api/v1/processes/p_{c.t}/draft")),
    R(f"{P}/draft", "PUT", "process.design", lambda c: c.put(f"/api/v1/processes/p_{c.t}/draft", json=c.draft())),
    R(f"{P}/duplicate", "POST", "process.design", lambda c: c.post(f"/api/v1/processes/p_{c.t}/duplicate", json={
        "key": c.uid("dup"), "name": "Copy"})),
    R(f"{P}/export", "GET", "process.view", lambda c: c.get(f"/api/v1/processes/p_{c.t}/export")),
    R(f"{P}/publish", "POST", "process.design", lambda c: c.post(f"/api/v1/processes/q_{c.t}/publish", json={})),
    R(f"{P}/rollback", "POST", "process.design", lambda c: c.post(f"/api/v1/processes/q_{c.t}/rollback",
                                                                   json={"version": 1})),
    R(f"{P}/versions", "GET", "process.view", lambda c: c.get(f"/api/v1/processes/p_{c.t}/versions")),
    R(f"{P}/versions/<int:number>", "GET", "process.view", lambda c: c.get(f"/api/v1/processes/p_{c.t}/versions/1")),
    R("/api/v1/processes/import", "POST", "process.create", lambda c: c.post(
        f"/api/v1/processes/import?key={c.uid('imp')}&team={c.team}", json=c.export())),
    R("/api/v1/processes/stage-types", "GET", "signed_in", lambda c: c.get("/api/v1/processes/stage-types"),
      teams=(None,)),
    R("/builder", "GET", "signed_in", lambda c: c.get("/builder"), kind="page", teams=(None,)),
    R("/builder/<key>", "GET", "process.view", lambda c: c.get(f"/builder/p_{c.t}"), kind="page",
      flag=('data-can-edit="true"', "process.design")),
    R("/builder/<key>/counts", "GET", "process.watch", lambda c: c.get(f"/builder/p_{c.t}/counts"), kind="page"),
    R("/builder/<key>/archive", "POST", "process.design", kind="page", fresh=True, call=lambda c: c.form(
        f"/builder/{c.process()}/archive")),
    R("/builder/<key>/retention", "POST", "process.design", kind="page", fresh=True, call=lambda c: c.form(
        f"/builder/{c.process()}/retention", {"action": "archive", "days": "30"})),
    R("/builder/<key>/duplicate", "POST", "process.design", kind="page", call=lambda c: c.form(
        f"/builder/p_{c.t}/duplicate", {"key": c.uid("pdup"), "name": "Page copy"})),
    R("/builder/create", "POST", "process.create", kind="page", call=lambda c: c.form("/builder/create", {
        "key": c.uid("pc"), "name": "Page made", "table": f"t_{c.t}", "team": c.team})),
    # --- Splits, webhooks -------------------------------------------------------------------------
    R("/api/v1/splits", "GET", "signed_in", lambda c: c.get("/api/v1/splits"), teams=(None,)),
    R("/api/v1/splits", "POST", "split.create", lambda c: c.post("/api/v1/splits", json={
        "key": c.uid("sp"), "name": "S", "table": f"t_{c.t}", "team": c.team,
        "variants": [{"key": "v", "process": f"p_{c.t}", "weight": 1}]})),
    R("/api/v1/splits/<key>", "GET", "split.view", lambda c: c.get(f"/api/v1/splits/s_{c.t}")),
    R("/api/v1/splits/<key>", "PATCH", "split.weights", lambda c: c.patch(f"/api/v1/splits/s_{c.t}", json={
        "weights": {"only": 1}, "reason": "parity"})),
    R("/builder/splits/<key>", "GET", "split.view", lambda c: c.get(f"/builder/splits/s_{c.t}"), kind="page",
      flag=('data-can-edit="true"', "split.weights")),
    R("/api/v1/webhooks", "POST", "webhook.create", lambda c: c.post("/api/v1/webhooks", json={
        "key": c.uid("wh-"), "process": f"p_{c.t}"})),
    R("/api/v1/webhooks", "POST", "webhook.create", lambda c: c.post("/api/v1/webhooks", json={
        "key": c.uid("wh-"), "split": f"s_{c.t}"})),
    # inbound calls are authenticated by their HMAC signature, whoever sends them
    R("/api/v1/webhooks/<key>", "POST", "public:401", lambda c: c.post("/api/v1/webhooks/w-a", json={}),
      kind="public", teams=(None,)),
    # External Service callbacks are authenticated by their signed single-use token, whoever sends them
    R("/api/v1/callbacks/<token>", "POST", "public:401", lambda c: c.post("/api/v1/callbacks/1-1-zz-" + "a" * 26,
                                                                           json={}), kind="public", teams=(None,)),
    # --- Tables -----------------------------------------------------------------------------------
    R("/api/v1/tables", "GET", "signed_in", lambda c: c.get("/api/v1/tables"), teams=(None,)),
    R("/api/v1/tables", "POST", "table.create", lambda c: c.post("/api/v1/tables", json={
        "key": c.uid("tb"), "name": "T", "team": c.team})),
    R(T, "GET", "table.view", lambda c: c.get(f"/api/v1/tables/t_{c.t}")),
    R(T, "PATCH", "table.edit", lambda c: c.patch(f"/api/v1/tables/t_{c.t}", json={"name": f"T {c.t}"})),
    R(f"{T}/fields", "POST", "table.edit", lambda c: c.post(f"/api/v1/tables/t_{c.t}/fields", json={
        "key": c.uid("f"), "name": "F", "type": "text"})),
    R(f"{T}/fields/<field_key>", "PATCH", "table.edit", lambda c: c.patch(
        f"/api/v1/tables/t_{c.t}/fields/note", json={"name": "Note"})),
    R(f"{T}/fields/<field_key>", "DELETE", "table.edit", fresh=True, call=lambda c: c.delete(
        f"/api/v1/tables/t_{c.t}/fields/{c.field()}")),
    R(f"{T}/fields/<field_key>/usage", "GET", "table.view", lambda c: c.get(
        f"/api/v1/tables/t_{c.t}/fields/note/usage")),
    R("/builder/tables/<key>", "GET", "table.view", lambda c: c.get(f"/builder/tables/t_{c.t}"), kind="page",
      flag=('data-can-edit="true"', "table.edit")),
    R("/queue/tables/<key>", "GET", "signed_in", lambda c: c.get(f"/queue/tables/t_{c.t}"), kind="page"),
    # --- alert rules ------------------------------------------------------------------------------
    R(AR, "GET", "signed_in", lambda c: c.get(AR), teams=(None,)),
    R(AR, "GET", "process.alerts", lambda c: c.get(f"{AR}?process=p_{c.t}")),
    R(AR, "POST", "process.alerts", lambda c: c.post(AR, json={"process": f"p_{c.t}",
                                                               "event_type": "task.moved"})),
    R(f"{AR}/<int:rule_id>", "GET", "process.alert_rule", lambda c: c.get(f"{AR}/{c.rule()}")),
    R(f"{AR}/<int:rule_id>", "PATCH", "process.alert_rule", lambda c: c.patch(f"{AR}/{c.rule()}",
                                                                             json={"severity": "info"})),
    R(f"{AR}/<int:rule_id>", "DELETE", "process.alert_rule", fresh=True,
      call=lambda c: c.delete(f"{AR}/{c.rule()}")),
    R("/queue/alerts", "GET", "process.alerts", lambda c: c.get(f"/queue/alerts?process=p_{c.t}"), kind="page"),
    R("/queue/alerts/rules", "POST", "process.alerts", kind="page", call=lambda c: c.form("/queue/alerts/rules", {
        "process": f"p_{c.t}", "event_type": "task.moved", "severity": "info", "channel": "in_app"})),
    R("/queue/alerts/rules/<int:rule_id>/delete", "POST", "process.alert_rule", kind="page", fresh=True,
      call=lambda c: c.form(f"/queue/alerts/rules/{c.rule()}/delete")),
    # --- metrics and dashboards (by role: aggregates only) ------------------------------------------
    *[R(f"/api/v1/metrics/{m}", "GET", "metrics.read", (lambda m: lambda c: c.get(f"/api/v1/metrics/{m}"))(m),
        teams=(None,)) for m in ("dashboard", "summary", "stages", "throughput", "lead-times", "routes", "options")],
    R("/api/v1/metrics/ab/<split_key>", "GET", "metrics.read", lambda c: c.get(f"/api/v1/metrics/ab/s_{c.t}")),
    R("/api/v1/metrics/csv/<chart>", "GET", "metrics.read", lambda c: c.get("/api/v1/metrics/csv/throughput"),
      teams=(None,)),
    R("/dashboards", "GET", "metrics.read", lambda c: c.get("/dashboards"), kind="page", teams=(None,)),
    # --- tokens -----------------------------------------------------------------------------------
    R("/api/v1/tokens", "GET", "signed_in", lambda c: c.get("/api/v1/tokens"), teams=(None,)),
    R("/api/v1/tokens", "POST", "signed_in", lambda c: c.post("/api/v1/tokens", json={"name": "t"}), teams=(None,)),
    R("/api/v1/tokens/<int:token_id>", "DELETE", "token.own", fresh=True, teams=(None,),
      call=lambda c: c.delete(f"/api/v1/tokens/{c.w.fresh_token(c.base) if c.fresh else c.any_token()}")),
    R("/api/v1/tokens/<int:token_id>", "DELETE", "token.other", teams=(None,),
      call=lambda c: c.delete(f"/api/v1/tokens/{c.w.fresh_token('admin' if c.base != 'admin' else 'staff_a')}")),
    R("/api/v1/admin/tokens", "GET", "token.admin", lambda c: c.get("/api/v1/admin/tokens"), teams=(None,)),
    R("/api/v1/admin/tokens/<int:token_id>", "DELETE", "token.admin", fresh=True, teams=(None,),
      call=lambda c: c.delete(f"/api/v1/admin/tokens/{c.w.fresh_token('staff_a')}")),
    # --- secrets: the REST API and the account page, the same decision --------------------------------
    R("/api/v1/secrets", "GET", "signed_in", lambda c: c.get("/api/v1/secrets"), teams=(None,)),
    R("/api/v1/secrets", "POST", "secret.manage", fresh=True, call=lambda c: c.post("/api/v1/secrets", json={
        "team": c.team, "name": c.uid("N").replace("-", "_"), "value": "parity-value-1234"})),
    R("/api/v1/secrets/<int:secret_id>", "GET", "secret.manage",
      lambda c: c.get(f"/api/v1/secrets/{c.w.fresh_secret(c.t)}")),
    R("/api/v1/secrets/<int:secret_id>", "PUT", "secret.manage", fresh=True,
      call=lambda c: c.put(f"/api/v1/secrets/{c.w.fresh_secret(c.t)}", json={"value": "parity-value-5678"})),
    R("/api/v1/secrets/<int:secret_id>", "DELETE", "secret.manage", fresh=True,
      call=lambda c: c.delete(f"/api/v1/secrets/{c.w.fresh_secret(c.t)}")),
    R("/account/secrets", "GET", "signed_in", lambda c: c.get("/account/secrets"), kind="page", teams=(None,)),
    R("/account/secrets", "POST", "secret.manage", kind="page", fresh=True, call=lambda c: c.form(
        "/account/secrets", {"team": c.team, "name": c.uid("N").replace("-", "_"), "value": "parity-value-1234"})),
    R("/account/secrets/<int:secret_id>/replace", "POST", "secret.manage", kind="page", fresh=True,
      call=lambda c: c.form(f"/account/secrets/{c.w.fresh_secret(c.t)}/replace", {"value": "parity-value-5678"})),
    R("/account/secrets/<int:secret_id>/delete", "POST", "secret.manage", kind="page", fresh=True,
      call=lambda c: c.form(f"/account/secrets/{c.w.fresh_secret(c.t)}/delete")),
    # --- people and Teams: admins manage; everyone sees whom they may assign work to -----------------
    R("/api/v1/users", "GET", "user.manage", lambda c: c.get("/api/v1/users"), teams=(None,)),
    R("/api/v1/users", "POST", "user.manage", fresh=True, teams=(None,),
      call=lambda c: c.post("/api/v1/users", json={"email": f"{c.uid('inv')}@parity.test", "name": "Invited"})),
    R("/api/v1/users/<int:user_id>", "GET", "user.manage", lambda c: c.get(f"/api/v1/users/{c.w.fresh_person(c.t)}")),
    R("/api/v1/users/<int:user_id>", "PATCH", "user.manage", fresh=True,
      call=lambda c: c.patch(f"/api/v1/users/{c.w.fresh_person(c.t)}", json={"role": "manager"})),
    R("/api/v1/users/<int:user_id>/deactivate", "POST", "user.manage", fresh=True,
      call=lambda c: c.post(f"/api/v1/users/{c.w.fresh_person(c.t)}/deactivate")),
    R("/api/v1/users/<int:user_id>/reactivate", "POST", "user.manage", fresh=True,
      call=lambda c: c.post(f"/api/v1/users/{_inactive_person(c)}/reactivate")),
    R("/api/v1/users/<int:user_id>/password-reset", "POST", "user.manage", fresh=True,
      call=lambda c: c.post(f"/api/v1/users/{c.w.fresh_person(c.t)}/password-reset")),
    R("/api/v1/people", "GET", "signed_in", lambda c: c.get("/api/v1/people"), teams=(None,)),
    R("/api/v1/teams", "GET", "signed_in", lambda c: c.get("/api/v1/teams"), teams=(None,)),
    R("/api/v1/teams", "POST", "team.manage", fresh=True, teams=(None,),
      call=lambda c: c.post("/api/v1/teams", json={"name": c.uid("Team ")})),
    R("/admin/users", "GET", "user.manage", lambda c: c.get("/admin/users"), kind="page", teams=(None,)),
    R("/password/set/<token>", "GET", "public:200", kind="public", teams=(None,),
      call=lambda c: c.get(f"/password/set/{c.w.fresh_password_link()}")),
    R("/password/set/<token>", "POST", "public:302", kind="public", teams=(None,),
      call=lambda c: c.form(f"/password/set/{c.w.fresh_password_link()}",
                            {"password": "parity passphrase 2026", "confirm": "parity passphrase 2026"})),
    R("/password/forgot", "GET", "public:200", lambda c: c.get("/password/forgot"), kind="public", teams=(None,)),
    R("/password/forgot", "POST", "public:302", kind="public", teams=(None,),
      call=lambda c: c.form("/password/forgot", {"email": f"nobody-{c.actor}@parity.test"})),
    # --- your account: tokens and password ----------------------------------------------------------
    R("/account/tokens", "GET", "signed_in", lambda c: c.get("/account/tokens"), kind="page", teams=(None,)),
    R("/account/tokens", "POST", "signed_in", lambda c: c.form("/account/tokens", {"name": "t", "scope": "read"}),
      kind="page", teams=(None,)),
    R("/account/tokens/<int:token_id>/revoke", "POST", "token.own", kind="page", fresh=True, teams=(None,),
      call=lambda c: c.form(f"/account/tokens/{c.w.fresh_token(c.base) if c.fresh else c.any_token()}/revoke")),
    R("/account/tokens/<int:token_id>/revoke", "POST", "token.other", kind="page", teams=(None,),
      call=lambda c: c.form(f"/account/tokens/{c.w.fresh_token('admin' if c.base != 'admin' else 'staff_a')}"
                            "/revoke")),
    R("/account/password", "GET", "signed_in", lambda c: c.get("/account/password"), kind="page", teams=(None,)),
    R("/account/password", "POST", "signed_in", kind="page", teams=(None,),   # "changed" to the same one
      call=lambda c: c.form("/account/password", {"current": PAGE_PASSWORD, "new": PAGE_PASSWORD,
                                                  "confirm": PAGE_PASSWORD})),
    # --- the staff shell --------------------------------------------------------------------------
    R("/", "GET", "signed_in", lambda c: c.get("/"), kind="page", teams=(None,)),
    R("/queue", "GET", "signed_in", lambda c: c.get("/queue"), kind="page", teams=(None,)),
    R("/queue/counts", "GET", "signed_in", lambda c: c.get("/queue/counts"), kind="page", teams=(None,)),
    R("/queue/notifications", "GET", "signed_in", lambda c: c.get("/queue/notifications"), kind="page",
      teams=(None,)),
    R("/queue/notifications/read", "POST", "signed_in", lambda c: c.form("/queue/notifications/read"), kind="page",
      teams=(None,)),
    R("/dev/mail", "GET", "outbox.read", lambda c: c.get("/dev/mail"), kind="page", teams=(None,)),
    R("/login", "GET", "public:200", lambda c: c.get("/login"), kind="public", teams=(None,)),
    R("/login", "POST", "public:401", lambda c: c.form("/login", {"email": f"nobody-{c.actor}@parity.test",
                                                                  "password": "wrong"}), kind="public", teams=(None,)),
    R("/logout", "POST", "logout", lambda c: c.form("/logout"), kind="page", teams=(None,)),
    R("/static/<path:filename>", "GET", "public:200", lambda c: c.get("/static/css/builder.css"), kind="public",
      teams=(None,)),
    R("/api/openapi.json", "GET", "public:200", lambda c: c.get("/api/openapi.json"), kind="public", teams=(None,)),
    R("/api/docs", "GET", "public:200", lambda c: c.get("/api/docs"), kind="public", teams=(None,)),
    # operations (app.ops): liveness for anyone; readiness is 503 here (no worker runs in the parity world);
    # /metrics answers 404 to everyone, admins included, while no PROCLY_METRICS_TOKEN is set (tests/ops)
    R("/healthz", "GET", "public:200", lambda c: c.get("/healthz"), kind="public", teams=(None,)),
    R("/readyz", "GET", "public:503", lambda c: c.get("/readyz"), kind="public", teams=(None,)),
    R("/metrics", "GET", "public:404", lambda c: c.get("/metrics"), kind="public", teams=(None,)),
    # --- the portal: the participant of Alpha's Task, and nobody else -------------------------------
    R("/portal/t/<token>", "GET", "portal:link", lambda c: c.get(f"/portal/t/{c.link_secret()}"), kind="portal"),
    R("/portal/", "GET", "portal:home", lambda c: c.get("/portal/"), kind="portal", teams=(None,)),
    R("/portal/runs/<int:run_id>/submit", "POST", "run.complete", kind="portal", fresh=True,
      call=lambda c: c.portal(f"/portal/runs/{c.run('work')}/submit", {"f_note": "from outside"})),
    R("/portal/runs/<int:run_id>/decide", "POST", "run.approve", kind="portal", fresh=True,
      call=lambda c: c.portal(f"/portal/runs/{c.run('sign')}/decide", {"action": "approve"})),
    R("/portal/runs/<int:run_id>/email-reply", "POST", "run.reply", kind="portal", fresh=True,
      call=lambda c: c.portal(f"/portal/runs/{c.w.talking(c.run('talk'))}/email-reply", {"body": "an answer"})),
    R("/portal/runs/<int:run_id>/comments", "POST", "run.comment", kind="portal", fresh=True,
      call=lambda c: c.portal(f"/portal/runs/{c.run('work')}/comments", {"body": "a question"})),
]
