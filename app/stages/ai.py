"""`ai_prompt` (AI Prompt), automated: a prompt template over the Stage's readable Fields is sent to
an OpenAI-compatible chat-completions endpoint that an administrator set up (an *AI connection*:
base URL, model, the name of the API key's secret); the answer is asked for as JSON matching the
Stage's `writes`, validated, and — by default — held as a *proposal* until an approver accepts, edits
or rejects it. Nothing is written before that.

The call, the checks of the answer and the record of every call belong to the AI service (app.ai, a
service: this module sits below it and must not import it); it hands itself over at start in
`app.extensions[SERVICE]`. See docs/stage-types.md, "AI Prompt"."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import marshmallow as ma
from flask import current_app, has_app_context

from app.fields import SECRET_NAME
from app.stages import mail_templates
from app.stages.base import ConfigSchema, Needs, Performed, StageContext, StageType

SERVICE = "procly_ai"
PLACEHOLDER_HELP = ("Write what the model should do. Placeholders: {{ field_key }} for any Field this Stage reads; "
                    "the model answers only the Fields this Stage writes.")
NOT_FOR_MODELS = ("file",)   # a model cannot produce a stored file


class ConnectionSchema(ma.Schema):
    """One AI connection as an administrator writes it (PROCLY_AI_CONNECTIONS, a JSON object
    name -> this)."""

    class Meta:
        unknown = ma.RAISE

    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    base_url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    model = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    secret = ma.fields.String(required=True, validate=SECRET_NAME)   # the API key's name in the Team's secrets
    allow_private = ma.fields.Boolean(load_default=False)            # the model server is on a private network
    timeout_seconds = ma.fields.Float(load_default=60.0, validate=ma.validate.Range(min=1, max=600))
    response_format = ma.fields.String(load_default="json_schema",
                                       validate=ma.validate.OneOf(["json_schema", "json_object"]))


@dataclass(frozen=True)
class Connection:
    name: str
    label: str
    base_url: str
    model: str
    secret: str
    allow_private: bool = False
    timeout_seconds: float = 60.0
    response_format: str = "json_schema"

    @property
    def host_port(self) -> str:
        parts = urlsplit(self.base_url)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    def public(self) -> dict:
        """What designers may see: never the secret's value (only its name)."""
        return {"name": self.name, "label": self.label or self.name, "model": self.model,
                "host": self.host_port, "secret": self.secret}


def parse_connections(raw) -> dict[str, Connection]:
    """The administrator's connections, checked (raises ma.ValidationError naming the bad entry)."""
    if not isinstance(raw, dict):
        raise ma.ValidationError({"AI_CONNECTIONS": ["must be a JSON object: name -> connection"]})
    found = {}
    for name, spec in raw.items():
        try:
            SECRET_NAME(name)
            found[name] = Connection(name=name, **ConnectionSchema().load(spec or {}))
        except ma.ValidationError as exc:
            raise ma.ValidationError({f"AI_CONNECTIONS.{name}": exc.messages}) from None
    return found


def connections() -> dict[str, Connection]:
    """The running app's AI connections (none outside an app)."""
    if not has_app_context():
        return {}
    return parse_connections(current_app.config.get("AI_CONNECTIONS") or {})


class AIService(Protocol):
    def propose(self, ctx: StageContext, connection: Connection) -> Performed:
        """Ask the model; the validated answer as the run's writes (a proposal when `review`). Raises
        StageFailed with the reason when the answer stays invalid or the server fails."""


class AIConfig(ConfigSchema):
    connection = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64), metadata={
        "title": "AI connection",
        "description": "The model server, its model and its API key, set up by an administrator."})
    prompt = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20_000), metadata={
        "title": "Prompt", "x-rows": 8, "description": PLACEHOLDER_HELP})
    review = ma.fields.Boolean(load_default=True, metadata={
        "title": "A person approves the answer before it is written",
        "description": "The proposed values wait for an approver, who accepts, edits or rejects them."})
    retries = ma.fields.Integer(load_default=2, validate=ma.validate.Range(min=0, max=5), metadata={
        "title": "Ask again when the answer is not valid (times)"})
    temperature = ma.fields.Float(load_default=0.0, validate=ma.validate.Range(min=0, max=2), metadata={
        "title": "Temperature (0 = most predictable)"})
    max_tokens = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(min=16, max=32_000), metadata={
        "title": "Longest answer (tokens)"})


class AIPromptType(StageType):
    key = "ai_prompt"
    name = "AI Prompt"
    icon = "✦"
    description = ("Automated: asks an AI model (an administrator's connection) to fill the Fields this Stage writes "
                   "from the Fields it reads; by default a person approves the answer before it is written.")
    automated = True
    config_schema = AIConfig
    needs = Needs(egress=True, secrets=True)
    task_template = "stages/ai_task.html"

    def config_json_schema(self) -> dict:
        schema = super().config_json_schema()
        known = connections()
        if known:   # the builder's select: the administrator's connections, in plain words
            schema["properties"]["connection"] = {
                **schema["properties"]["connection"], "enum": list(known),
                "x-labels": {n: f"{c.label or n} ({c.model})" for n, c in known.items()}}
        return schema

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        config = stage.get("config") or {}
        reads, writes = list(stage.get("reads") or ()), list(stage.get("writes") or ())
        problems: list[tuple[str, str]] = []
        try:
            bad = mail_templates.unknown(config.get("prompt") or "", reads)
        except mail_templates.TemplateProblem as exc:
            problems.append(("config.prompt", str(exc)))
        else:
            if bad:
                problems.append(("config.prompt", "unknown placeholder" + ("s" if len(bad) > 1 else "") + " "
                                 + ", ".join(bad) + " (only Fields this Stage reads: " + (", ".join(reads) or "none") + ")"))
        if not writes:
            problems.append(("writes", "an AI Prompt Stage must write at least one Field (what the model answers)"))
        for key in writes:
            if key in fields and fields[key].type in NOT_FOR_MODELS:
                problems.append(("writes", f'"{key}" is a file Field: a model cannot fill it'))
        name = config.get("connection")
        known = connections()
        if has_app_context() and name and name not in known:
            problems.append(("config.connection", f'no AI connection named "{name}" (an administrator sets them up: '
                                                  + (", ".join(known) or "none yet") + ")"))
        return problems

    def allowed_hosts(self, config: dict) -> list[str]:
        found = connections().get(config.get("connection") or "")
        return [found.host_port] if found else []

    def holds_proposals(self, config: dict) -> bool:
        return bool((config or {}).get("review", True))

    def perform(self, ctx: StageContext) -> Performed:
        found = connections().get(ctx.config["connection"])
        if found is None:
            raise LookupError(f'no AI connection named "{ctx.config["connection"]}": an administrator must set it up')
        return service().propose(ctx, found)

    def poll(self, ctx: StageContext) -> Performed:
        """The wait a 429 asked for is over: ask again."""
        return self.perform(ctx)

    def describe(self) -> dict:
        known = connections()
        return {**super().describe(), "available": bool(known),
                "unavailable_reason": None if known else "no AI connection is set up (PROCLY_AI_CONNECTIONS)",
                "connections": [c.public() for c in known.values()]}


def service() -> AIService:
    found = current_app.extensions.get(SERVICE)
    if found is None:
        raise RuntimeError("the AI service is not installed (app.ai.init_app)")
    return found
