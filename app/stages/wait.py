"""`wait`, automated: the Task waits here until a named Signal arrives (through the API or an
inbound webhook, by Task id or key) and writes the values it carries (within the Stage's writes)."""
from __future__ import annotations

import marshmallow as ma

from app.stages.base import ConfigSchema, InputKind, InputRefused, Performed, StageContext, StageType, Submission


class WaitConfig(ConfigSchema):
    signal = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[a-z][a-z0-9_.-]{0,63}$", error=(
        "Name the signal with lowercase letters, digits, '.', '-' or '_', starting with a letter.")),
        metadata={"description": "The name of the Signal to wait for, e.g. payment_received"})
    keep_early = ma.fields.Boolean(load_default=True, metadata={
        "default": True, "description": "Keep a Signal that arrives before this Stage is ready (persistent); "
                                        "off: such a Signal is dropped (transient)"})


class WaitType(StageType):
    key = "wait"
    name = "Wait for a signal"
    icon = "⏸"
    description = "Automated: waits until a named Signal reaches the Task, then writes the values it carries."
    automated = True
    config_schema = WaitConfig

    def signal_name(self, config: dict) -> str | None:
        return config["signal"]

    def keeps_early_signals(self, config: dict) -> bool:
        return config["keep_early"]

    def perform(self, ctx: StageContext) -> Performed:
        return Performed(complete=False, log=(f"waiting for the signal {ctx.config['signal']!r}",))

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        if kind in (InputKind.signal, InputKind.submit):   # staff may complete it in the signal's place
            return Submission(values=dict(payload or {}))
        raise InputRefused("a Wait Stage takes its Signal, or staff completing it")
