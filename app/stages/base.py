"""The stage-type interface: what every stage type, built-in or custom, implements.

A stage type is a `StageType` subclass. The core (engine, pages, portal, API) talks to it only
through the methods below and never lets it see more than the Stage's permitted Fields: it hands
the type the values of the Stage's `reads`, and checks whatever the type asks to write against the
Stage's `writes` itself. See docs/stage-types.md."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask import render_template
from markupsafe import Markup


class ConfigSchema(ma.Schema):
    """Base for config schemas: unknown keys are errors. A config must load to plain JSON values
    (it becomes part of the normalized definition and its content hash)."""

    class Meta:
        unknown = ma.RAISE


@dataclass(frozen=True)
class Needs:
    """What a stage type needs from the platform, declared so that admins and the builder can see it
    and the core can refuse to run a type whose needs it cannot meet: outside calls (through the
    egress door, limited to the hosts `allowed_hosts` names), named secrets, a code sandbox, files."""
    egress: bool = False
    secrets: bool = False
    sandbox: bool = False
    files: bool = False

    def as_dict(self) -> dict:
        return {"egress": self.egress, "secrets": self.secrets, "sandbox": self.sandbox, "files": self.files}


class OnReady(StrEnum):
    """What a Stage Run that became ready (pending) waits for."""
    person = "person"                    # stays pending for a person (claim, work, complete)
    worker = "worker"                    # performed by a worker: `perform` is called in a job
    participant = "participant"          # the invited participant's portal page is its work: waiting on them


class InputKind(StrEnum):
    """Where an input to a Stage Run comes from."""
    submit = "submit"                    # staff completing it on the Task page or through the API
    participant = "participant"          # a participant's portal form
    signal = "signal"                    # a named Signal sent to the Task
    callback = "callback"                # an outside system calling back on the run's URL
    booking = "booking"                  # a slot booked through app.scheduling (it holds the seat)


@dataclass(frozen=True)
class StageContext:
    """What a hook may know about one Stage Run. `values` holds only the Stage's readable Fields."""
    stage: dict                          # the normalized Stage (key, reads, writes, visibility, ...)
    config: dict                         # the Stage's config, loaded through the type's schema
    values: dict = field(default_factory=dict)
    task_id: int | None = None
    run_id: int | None = None
    attempt: int = 1
    budget_ms: float = 50.0              # CPU budget of one expression (CEL_BUDGET_MS)
    invited: Callable[[], bool] = field(default=lambda: False, repr=False, compare=False)
    # the values of the named secrets of the Process's Team (each use is an Event); only for types
    # whose `needs.secrets` is set, and only the names their config declares
    secret_values: Callable[[list], dict] = field(default=lambda names: {}, repr=False, compare=False)
    # what an earlier hook of this run kept (`Performed.state`), e.g. the first response of a request
    state: dict = field(default_factory=dict)
    # the absolute URL on which an outside system completes this run attempt (app.runtime.callbacks:
    # a signed, single-use token valid for the given seconds); made when asked
    make_callback_url: Callable[[float], str] = field(default=lambda valid_for: "", repr=False, compare=False)

    def secrets(self, names: list) -> dict:
        """The values of these secrets (name -> value). A missing one raises StageFailed."""
        return self.secret_values(list(names)) if names else {}

    def callback_url(self, valid_for: float) -> str:
        """This attempt's callback URL (signed, single use, valid for `valid_for` seconds): give it to
        the outside system."""
        return self.make_callback_url(valid_for)

    def participant_invited(self) -> bool:
        """Is a participant invited to the Task now (an unrevoked, unexpired magic link)? One query:
        ask only when it matters."""
        return self.invited()

    @property
    def idempotency_key(self) -> str:
        """One key per Stage Run attempt: send it with any outside call the attempt makes."""
        return f"run-{self.run_id}-{self.attempt}"


@dataclass(frozen=True)
class Performed:
    """What an automated `perform` returns (a plain dict of writes means Performed(writes)).

    `complete=False`: the work was started elsewhere (a request sent, a message mailed); the run
    stays in progress until an input (`receive`) completes it. `log`: lines for the run's log.
    `proposed=True`: the writes are a proposal (an AI's answer): the core checks them, keeps them on the
    run and holds it *awaiting approval*; an approver accepts (possibly edited) or rejects them, and
    nothing is written before that. `poll_after` (with complete=False): the core calls the type's
    `poll` after that many seconds, on the timer machinery, until it returns a Performed. `state`:
    kept on the run for its later hooks (`StageContext.state`)."""
    writes: dict = field(default_factory=dict)
    complete: bool = True
    log: tuple[str, ...] = ()
    proposed: bool = False
    poll_after: float | None = None
    state: dict | None = None


@dataclass(frozen=True)
class Submission:
    """What `receive` makes of an input: the Field writes it asks for (checked by the core against
    the Stage's writes and the Fields' types), Fields that must hold a value afterwards, and whether
    the input completes the run."""
    values: dict = field(default_factory=dict)
    required: tuple[str, ...] = ()
    complete: bool = True


class StageFailed(RuntimeError):
    """Raised by `perform` to fail the attempt with a plain-words reason (the Stage Run's error)
    while keeping `log` lines (output, the cap hit) on the run: retries and escalation follow."""

    def __init__(self, message: str, log: tuple[str, ...] | list[str] = ()):
        super().__init__(message)
        self.log = tuple(log)


class InputRefused(ValueError):
    """A stage type does not accept this kind of input (e.g. a callback to a form)."""


class InputInvalid(InputRefused):
    """An input of a kind the type takes, whose content does not fit (e.g. a callback's body that lacks
    a value the Stage reads from it): 422, where InputRefused is 409."""


class StageType:
    """One stage type. Subclass it, set the class attributes, override the hooks it needs."""

    key: ClassVar[str]
    name: ClassVar[str]
    icon: ClassVar[str] = "▢"
    description: ClassVar[str] = ""
    automated: ClassVar[bool] = False
    config_schema: ClassVar[type[ma.Schema]] = ConfigSchema
    needs: ClassVar[Needs] = Needs()
    # Jinja templates of the staff Task page's work area and of the portal's action area for one run
    task_template: ClassVar[str] = "stages/task.html"
    portal_template: ClassVar[str] = "stages/portal.html"

    # --- definition time (the builder, validation, normalization) ------------------------------
    def validate(self, config: Any) -> dict:
        """The config with every default filled; raises `marshmallow.ValidationError` (with paths)."""
        return self.config_schema().load(config)

    load_config = validate   # the older name

    def config_json_schema(self) -> dict:
        """JSON Schema of the config, generated from `config_schema`: the builder's stage panel."""
        spec = APISpec("procly", "1", "3.1.0", plugins=[MarshmallowPlugin()])
        converter = OpenAPIConverter(openapi_version="3.1.0", schema_name_resolver=lambda s: None, spec=spec)
        schema = converter.schema2jsonschema(self.config_schema)
        # JSON objects lose their key order on the way (sorted by Flask): the panel's order, as declared
        schema["x-order"] = [name for name in self.config_schema._declared_fields if name in schema.get("properties", {})]
        return schema

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        """Cross-checks of a normalized Stage against its Table's Fields (config vs reads/writes…):
        `(path relative to the Stage, message)` pairs, e.g. `("config.required[1]", ...)`."""
        return []

    def allowed_hosts(self, config: dict) -> list[str]:
        """Hosts (host or host:port) this Stage may call, from its config: its egress allow-list."""
        return []

    def holds_proposals(self, config: dict) -> bool:
        """Whether a run's writes are held as a proposal for an approver (`Performed(proposed=True)`):
        an `approval_rejected` Route may then leave from the Stage."""
        return False

    # --- run time -----------------------------------------------------------------------------
    def waits_for_participant(self, stage: dict) -> bool:
        """Whether an invited participant's portal page is this Stage's work: by default a
        person-worked Stage with an external `action` that writes Fields."""
        return (not self.automated and (stage.get("visibility") or {}).get("external") == "action"
                and bool(stage.get("writes")))

    def on_ready(self, ctx: StageContext) -> OnReady:
        """A Stage Run became ready (pending): who does its work."""
        if self.automated:
            return OnReady.worker
        if self.waits_for_participant(ctx.stage) and ctx.participant_invited():
            return OnReady.participant
        return OnReady.person

    def perform(self, ctx: StageContext) -> Performed | dict:
        """Perform an automated Stage Run (in a worker): return the Field writes. Raising fails the
        attempt (retries with backoff, then escalation); the core checks the writes."""
        return self.run(ctx.values, ctx.config)

    def run(self, values: dict, config: dict) -> dict:
        """The simple form of `perform`: permitted values and config in, Field writes out."""
        raise NotImplementedError(f"stage type {self.key!r} is not automated")

    def poll(self, ctx: StageContext) -> Performed:
        """A run waiting after `Performed(complete=False, poll_after=…)` looks again (in a worker, when
        its timer fires): a Performed as from `perform` — done (its writes checked by the core), or
        `complete=False` with `poll_after` to look again later; raising fails the attempt."""
        return Performed(complete=False)

    def signal_name(self, config: dict) -> str | None:
        """The name of the Signal a run of this Stage waits for (None: none). A Signal sent to the
        Task while such a run waits is its input (`receive` with `signal`); one sent earlier is kept
        for the run unless `keeps_early_signals` says no."""
        return None

    def keeps_early_signals(self, config: dict) -> bool:
        """Whether a Signal that arrives before the run is ready is kept for it (persistent) or dropped
        (transient)."""
        return True

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        """An input for a run: a staff or participant form, a Signal, a callback. By default forms
        write what they carry and complete the run; Signals and callbacks are refused."""
        if kind in (InputKind.submit, InputKind.participant):
            return Submission(values=dict(payload or {}))
        raise InputRefused(f"a {self.name} Stage does not take {kind} input")

    # --- what people see ------------------------------------------------------------------------
    def render_task(self, **context) -> Markup:
        """The staff Task page's work area of one run (actions, inputs for its writes)."""
        return Markup(render_template(self.task_template, type=self, **context))

    def render_portal(self, **context) -> Markup:
        """The portal's action area of one run, for the participant."""
        return Markup(render_template(self.portal_template, type=self, **context))

    # --- description ----------------------------------------------------------------------------
    def describe(self) -> dict:
        """A JSON-ready description for the builder palette and GET /api/v1/processes/stage-types."""
        return {"key": self.key, "name": self.name, "icon": self.icon, "description": self.description,
                "automated": self.automated, "config_schema": self.config_json_schema(),
                "needs": self.needs.as_dict()}

    def __repr__(self) -> str:
        return f"<StageType {self.key}>"


_CONFIGS: dict[tuple[str, str], dict] = {}


def loaded_config(type_: StageType, config: dict) -> dict:
    """A Stage's config through its type's schema, once per process per distinct config (a marshmallow
    load costs ~0.5 ms, as much as the rest of a Stage's Python). Stage types must not mutate it."""
    key = (type_.key, json.dumps(config, sort_keys=True, default=str))
    loaded = _CONFIGS.get(key)
    if loaded is None:
        loaded = type_.validate(config)  # a ValidationError is not cached: it fails the run each time
        if len(_CONFIGS) >= 4096:
            _CONFIGS.clear()
        _CONFIGS[key] = loaded
    return loaded
