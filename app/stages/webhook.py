"""`webhook` (Webhook), automated: one outbound HTTP call built from templates over the Stage's readable
Fields (and its declared secrets), through the egress door limited to the Stage's allow-list; the
response is read into the Stage's writes (a path or any CEL expression over `body`, `status`,
`headers`). Timeouts, lost connections, 5xx and 429 are tried again with backoff under one
Idempotency-Key; every call is on the Stage Run's log, secrets masked. See docs/stage-types.md."""
from __future__ import annotations

import marshmallow as ma

from app.stages import http_call
from app.stages.base import Needs, Performed, StageContext, StageType
from app.stages.http_call import RequestConfig, meta


class WebhookConfig(RequestConfig):
    results = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(validate=ma.validate.Length(min=1, max=2000)),
                             load_default=dict, metadata=meta(
        "Fields from the response", "For a Field this Stage writes: where its value is in the answer, e.g. "
        "body.customer.id, or an expression such as status == 201 or body.total * 100.",
        **{"x-widget": "field-map", "x-field-of": "writes"}))


class WebhookType(StageType):
    key = "webhook"
    name = "Webhook"
    icon = "🔗"
    description = ("Automated: calls another system over HTTP (only the hosts you allow) with the Stage's "
                   "readable Fields, and saves what it answers into Fields.")
    automated = True
    config_schema = WebhookConfig
    needs = Needs(egress=True, secrets=True)
    task_template = "stages/http_task.html"

    def validate(self, config) -> dict:
        loaded = super().validate(config)
        errors = http_call.request_errors(loaded)
        if errors:
            raise ma.ValidationError(errors)
        return loaded

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        config = stage.get("config") or {}
        return http_call.request_problems(stage, config) + http_call.results_problems(stage, config.get("results"))

    def allowed_hosts(self, config: dict) -> list[str]:
        return list(config.get("allowed_hosts") or [])

    def perform(self, ctx: StageContext) -> Performed:
        reply, log, used = http_call.call(ctx, ctx.config, self.allowed_hosts(ctx.config))
        writes = http_call.read_results(ctx.config["results"], reply, ctx, used, log)
        return Performed(writes=writes, log=tuple(log))
