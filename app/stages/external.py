"""`external_service` (External Service), automated and asynchronous: sends a request like a Webhook,
then waits for the outside system — either it calls back on the run's own URL (signed, single use,
expiring: app.runtime.callbacks, received by app.inbound.callbacks) or Procly polls a status URL at an
interval on the timer machinery until a condition says done (or failed). A `timeout` Route of the
Stage handles silence. What comes back is read into the Stage's writes and checked by the core.
See docs/stage-types.md."""
from __future__ import annotations

import json

import marshmallow as ma
from flask import current_app, has_app_context

from app.cel import expressions
from app.infra import egress
from app.stages import http_call
from app.stages import http_templates as tpl
from app.stages.base import (InputInvalid, InputKind, InputRefused, Needs, Performed, StageContext, StageFailed,
                             StageType, Submission)
from app.stages.http_call import RESPONSE_VARS, CallFailed, Reply, RequestConfig, meta
from app.vocab import durations

MODES = ("callback", "poll")
KEPT_RESPONSE = 16 * 1024        # characters of the first response kept for the status URL
DEFAULT_POLL_MIN = 5


def _duration(text: str) -> None:
    try:
        durations.seconds(text)
    except ValueError:
        raise ma.ValidationError("must be a duration like 30s, 5m, 24h or 7d") from None


def poll_min() -> int:
    return int(current_app.config.get("POLL_MIN_SECONDS", DEFAULT_POLL_MIN)) if has_app_context() else DEFAULT_POLL_MIN


class ExternalConfig(RequestConfig):
    wait_for = ma.fields.String(load_default="callback", validate=ma.validate.OneOf(MODES), metadata=meta(
        "How the answer comes", "The outside system calls back on the URL Procly sends it ({{ callback_url }}, "
        "also in the Procly-Callback-Url header), or Procly checks a status address at an interval.",
        **{"x-labels": ["It calls back", "Procly checks a status address"]}))
    callback_valid_for = ma.fields.String(load_default="7d", validate=_duration, metadata=meta(
        "Callback accepted for", "After this (e.g. 2h, 7d) a callback is refused as late. Add a timeout Route to "
        "decide what happens when nothing comes."))
    status_url = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000), metadata=meta(
        "Status address (when Procly checks)", "https://host/path — may use {{ field }}, {{ secrets.NAME }} and "
        "{{ response.id }} (a value of the first answer).", **{"x-rows": 1}))
    poll_every = ma.fields.String(load_default="1m", validate=_duration, metadata=meta(
        "Check every", "How often the status address is read, e.g. 30s or 5m."))
    done_when = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000), metadata=meta(
        "Done when", 'A condition over the status answer, e.g. body.state == "done".'))
    failed_when = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000), metadata=meta(
        "Failed when", 'Optional: a condition that fails the Stage, e.g. body.state == "error".'))
    results = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(validate=ma.validate.Length(min=1, max=2000)),
                             load_default=dict, metadata=meta(
        "Fields from the answer", "For a Field this Stage writes: where its value is in the callback's body or the "
        "final status answer, e.g. body.result.score. Without any, a callback's body names Fields directly.",
        **{"x-widget": "field-map", "x-field-of": "writes"}))


class ExternalServiceType(StageType):
    key = "external_service"
    name = "External Service"
    icon = "⇄"
    description = ("Automated: asks another system to do something over HTTP (only the hosts you allow), then "
                   "waits until it calls back or its status says done, and saves the answer into Fields.")
    automated = True
    config_schema = ExternalConfig
    needs = Needs(egress=True, secrets=True)
    task_template = "stages/http_task.html"

    def validate(self, config) -> dict:
        loaded = super().validate(config)
        errors = http_call.request_errors(loaded)
        if loaded["wait_for"] == "poll":
            if tpl.literal_origin(loaded["status_url"]) is None:
                errors["status_url"] = ["start with http:// or https:// and the host name (no {{ }} in the host)"]
            if not loaded["done_when"].strip():
                errors["done_when"] = ["say when the outside work is done, e.g. body.state == \"done\""]
        for key in ("status_url",):
            try:
                tpl.placeholders(loaded[key])
            except tpl.TemplateProblem as exc:
                errors.setdefault(key, []).append(str(exc))
        if errors:
            raise ma.ValidationError(errors)
        return loaded

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        config = stage.get("config") or {}
        out = http_call.request_problems(stage, config, callback=config.get("wait_for") == "callback")
        out += http_call.results_problems(stage, config.get("results"))
        if config.get("wait_for") == "poll":
            out += self._poll_problems(stage, config)
        return out

    def _poll_problems(self, stage: dict, config: dict) -> list[tuple[str, str]]:
        out = []
        origin = tpl.literal_origin(config.get("status_url") or "")
        if origin is not None:
            from_allowed = egress.host_allowed(origin[1], origin[2], config.get("allowed_hosts") or [], origin[0])
            if not from_allowed:
                out.append(("config.status_url", f"{origin[1]}:{origin[2]} is not in Allowed hosts"))
        out += [("config.status_url", m) for m in tpl.problems(config.get("status_url") or "", reads=stage.get("reads"),
                                                                secrets=config.get("secrets"), response=True)]
        try:
            if durations.seconds(config.get("poll_every") or "1m") < poll_min():
                out.append(("config.poll_every", f"at least {poll_min()}s"))
        except ValueError:
            pass
        for key in ("done_when", "failed_when"):
            if (config.get(key) or "").strip():
                out += [(f"config.{key}", m) for m in expressions.check(config[key], RESPONSE_VARS)]
        return out

    def allowed_hosts(self, config: dict) -> list[str]:
        return list(config.get("allowed_hosts") or [])

    # --- run time ------------------------------------------------------------------------------
    def perform(self, ctx: StageContext) -> Performed:
        config = ctx.config
        extra = {}
        if config["wait_for"] == "callback":
            extra[tpl.CALLBACK] = ctx.callback_url(durations.seconds(config["callback_valid_for"]))
        reply, log, _ = http_call.call(ctx, config, self.allowed_hosts(config), extra=extra)
        state = {"response": _kept(reply.body)}
        if config["wait_for"] == "callback":
            log.append(f"waiting for the callback (accepted for {config['callback_valid_for']})")
            return Performed(complete=False, log=tuple(log), state=state)
        every = durations.seconds(config["poll_every"])
        log.append(f"checking the status address every {config['poll_every']}")
        return Performed(complete=False, poll_after=every, log=tuple(log), state=state)

    def poll(self, ctx: StageContext) -> Performed:
        config, every = ctx.config, durations.seconds(ctx.config["poll_every"])
        try:
            reply, log, used = http_call.call(ctx, config, self.allowed_hosts(config), url=config["status_url"],
                                              method="GET", with_body=False, retries=0, label="status",
                                              extra={"response": ctx.state.get("response")})
        except CallFailed as exc:
            if not exc.transient:
                raise
            return Performed(complete=False, poll_after=every, log=(*exc.log, f"status: looking again in {config['poll_every']}"))
        data = {"body": reply.body, "status": reply.status, "headers": reply.headers}
        if config["failed_when"].strip() and self._holds(config["failed_when"], data, ctx, log):
            raise StageFailed(f"External Service: the outside system reports a failure ({config['failed_when']})",
                              log=log)
        if not self._holds(config["done_when"], data, ctx, log):
            return Performed(complete=False, poll_after=every, log=tuple(log))
        writes = http_call.read_results(config["results"], reply, ctx, used, log, label="status")
        return Performed(writes=writes, log=(*log, "status: done"))

    @staticmethod
    def _holds(expr: str, data: dict, ctx: StageContext, log: list) -> bool:
        try:
            return expressions.evaluate(expr, data, budget_ms=ctx.budget_ms)
        except expressions.ExpressionError as exc:
            raise StageFailed(f"External Service: the condition {expr} could not be evaluated: {exc}", log=log) from None

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        if kind == InputKind.submit:           # staff finish it in the outside system's place
            return Submission(values=dict(payload or {}))
        if kind != InputKind.callback:
            raise InputRefused("an External Service Stage takes its callback, or staff completing it")
        body = (payload or {}).get("body")
        results = ctx.config["results"]
        if not results:
            if not isinstance(body, dict):
                raise InputInvalid("the callback's body must be a JSON object of Field values")
            return Submission(values=dict(body))
        try:
            values = http_call.read_results(results, Reply(200, {}, body, b""), ctx, [], [], label="callback")
        except CallFailed as exc:
            raise InputInvalid(str(exc)) from None
        return Submission(values=values)


def _kept(body):
    """The first response, kept on the run for the status URL's {{ response.… }} (small ones only)."""
    text = json.dumps(body, default=str)
    return body if len(text) <= KEPT_RESPONSE else None
