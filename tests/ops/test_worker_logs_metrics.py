"""With a real `flask procly worker` process: a request and the job it enqueued log the same request id
(the web side in this process, the job in the worker, both through app.infra.logs as JSON); no Field
value, password or token reaches either log; /metrics, scraped after the Task ran, shows the job, the
Stage transitions of its Process, the request, the queues and the worker's heartbeat; /readyz is ready."""
from __future__ import annotations

import io
import json
import logging
import re

from app.auth.tokens import issue_token
from app.extensions import db
from app.infra import logs
from tests.processes import wait_until
from tests.runtime_io.conftest import compute, st
from tests.runtime_io.test_sla_recovery import _flask_worker

MARKER = "Zed-SENSITIVE-4711"       # a Field value: must not appear in any log line
RID = "req-ops-7f3a9c"


def _json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def _sample(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_request_and_its_job_share_a_request_id_and_metrics_show_the_run(world, monkeypatch):
    world.process("ops", [compute("calc", {"a": "int(b) * 2"}), st("review", column=1)],
                  start={"writes": ["b", "name"]})
    world.app.config["METRICS_TOKEN"] = "metrics-token-for-tests"
    _, secret = issue_token(world.staff, "ops test")
    db.session.commit()

    monkeypatch.setenv("PROCLY_LOG_FORMAT", "json")
    buffer = io.StringIO()
    logs.configure(stream=buffer)     # this process's logs, as the web process writes them
    root = logging.getLogger()
    proc = _flask_worker(world.app, env={"PROCLY_LOG_FORMAT": "json", "PROCLY_LOG_LEVEL": "INFO"})
    try:
        client = world.app.test_client()
        auth = {"Authorization": "Bearer metrics-token-for-tests"}
        earlier = client.get("/metrics", headers=auth).get_data(as_text=True)   # other tests of this process count too
        posts_before = _sample(earlier, "procly_http_requests_total", endpoint="tasks.Tasks", method="POST",
                               status="201") or 0
        timed_before = _sample(earlier, "procly_http_request_duration_seconds_count", endpoint="tasks.Tasks") or 0
        r = client.post("/api/v1/tasks", json={"process": "ops", "values": {"b": 21, "name": MARKER}},
                        headers={"Authorization": f"Bearer {secret}", "X-Request-ID": RID})
        assert r.status_code == 201, r.json
        assert r.headers["X-Request-ID"] == RID         # echoed
        tid = r.json["id"]
        wait_until(lambda: world.statuses(tid).get("calc") == "completed", 120, "the worker to run the Stage",
                   diagnose=proc.log)

        web = [line for line in _json_lines(buffer.getvalue()) if line.get("request_id") == RID]
        assert any(line["event"] == "request" and line["status"] == 201 for line in web), buffer.getvalue()
        job_lines = wait_until(lambda: [line for line in _json_lines(proc.log())
                                        if line.get("request_id") == RID and line["event"] == "job finished"],
                               60, "the job's log line", diagnose=proc.log)
        assert job_lines[0]["job_type"] == "run_stage" and job_lines[0]["outcome"] == "finished"
        assert job_lines[0]["stage_run_id"] == world.run(tid, "calc").id and job_lines[0]["task_id"] == tid

        # a request without an X-Request-ID gets one generated, and a made-up one is replaced
        assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz").headers["X-Request-ID"])
        assert client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"] \
            != "bad id <script>"

        ready = wait_until(lambda: (lambda r: r if r.status_code == 200 else None)(client.get("/readyz")), 60,
                           "readiness with a worker heartbeat", every=0.5)
        assert ready.json["checks"]["worker"]["ok"] and ready.json["checks"]["database"]["ok"]

        def scraped():   # the exposition is cached for a few seconds: wait for one taken after the POST
            text = client.get("/metrics", headers=auth).get_data(as_text=True)
            posts = _sample(text, "procly_http_requests_total", endpoint="tasks.Tasks", method="POST", status="201")
            jobs = _sample(text, "procly_jobs_total", job_type="run_stage", outcome="finished")
            return text if posts == posts_before + 1 and jobs else None
        text = wait_until(scraped, 60, "a scrape counting the POST", every=0.5)
        assert _sample(text, "procly_jobs_total", job_type="run_stage", outcome="finished") >= 1, text
        assert _sample(text, "procly_stage_transitions_total", process="Ops", status="completed") >= 1, text
        assert _sample(text, "procly_http_request_duration_seconds_count", endpoint="tasks.Tasks") >= timed_before + 1
        assert _sample(text, "procly_rq_queue_jobs", queue="procly") is not None
        assert _sample(text, "procly_rq_failed_jobs", queue="procly") == 0
        assert _sample(text, "procly_worker_heartbeat_age_seconds") < 30
        assert _sample(text, "procly_timers", state="overdue") == 0
        assert _sample(text, "procly_outbox_messages", status="pending") is not None
        assert _sample(text, "procly_socketio_connections") is not None
        assert _sample(text, "procly_periodic_last_run_age_seconds", job="sweep") is not None
    finally:
        world.app.config["METRICS_TOKEN"] = ""
        world.app.extensions.pop("procly_ready", None)   # the next test starts without this worker's answer
        proc.stop()
        for handler in list(root.handlers):
            if handler.get_name() == logs.HANDLER_NAME:
                root.removeHandler(handler)
    everything = buffer.getvalue() + proc.log()
    assert MARKER not in everything          # Field values never reach a log line
    assert secret not in everything          # nor tokens
