"""`code` (Code), automated: a Python function `run(fields)` written in the builder, run in the
sandbox (app.sandbox) on the Stage's readable Fields only; what it returns is checked by the core
against `writes`. Its output goes to the Stage Run's log; a failure or a cap hit fails the attempt
with the reason (retries, then escalation). It never runs unsandboxed."""
from __future__ import annotations

import ast

import marshmallow as ma

from app import sandbox
from app.fields import SECRET_NAME
from app.infra.redaction import contains_secret, redact
from app.stages.base import ConfigSchema, Needs, Performed, StageContext, StageFailed, StageType

MAX_CODE = 64 * 1024
LOG_LINES = 40           # of stdout and of stderr each, kept on the Stage Run
LOG_LINE_CHARS = 500
EXAMPLE = 'def run(fields):\n    """fields: the Stage\'s readable Fields. Return the Fields to write."""\n    return {}\n'


class LimitsConfig(ConfigSchema):
    cpu_seconds = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={"description": "CPU time, seconds"})
    wall_seconds = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={"description": "wall time, seconds"})
    memory_mb = ma.fields.Integer(validate=ma.validate.Range(min=16), metadata={"description": "memory, MB"})
    processes = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={"description": "processes"})
    file_size_mb = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={"description": "largest file, MB"})
    output_kb = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={"description": "output, KB"})


class CodeConfig(ConfigSchema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_CODE),
                            metadata={"description": "Python: def run(fields): return {field: value, ...}",
                                      "format": "python", "example": EXAMPLE})
    secrets = ma.fields.List(ma.fields.String(validate=SECRET_NAME),
                             load_default=list, validate=ma.validate.Length(max=20),
                             metadata={"description": "names of the Team's secrets passed to run(fields, secrets)"})
    limits = ma.fields.Nested(LimitsConfig, load_default=dict,
                              metadata={"description": "caps for this Stage, up to the administrator's maxima"})


def compile_errors(code: str) -> dict:
    """{"code": [message]} when the code does not compile or defines no top-level `run`."""
    try:
        tree = ast.parse(code, "<stage code>")
        compile(tree, "<stage code>", "exec")
    except SyntaxError as exc:
        return {"code": [f"line {exc.lineno}: {exc.msg}"]}
    except ValueError as exc:  # e.g. a NUL byte
        return {"code": [str(exc)]}
    runs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "run"]
    if not runs or isinstance(runs[-1], ast.AsyncFunctionDef):
        return {"code": ["the code must define a function run(fields)"]}
    return {}


class CodeType(StageType):
    key = "code"
    name = "Code"
    icon = "{}"
    description = ("Automated: a Python function run(fields) over the Stage's readable Fields, run in a sandbox "
                   "without network or files; it returns the Fields to write.")
    automated = True
    config_schema = CodeConfig
    needs = Needs(sandbox=True, secrets=True)
    task_template = "stages/code_task.html"

    def validate(self, config) -> dict:
        loaded = super().validate(config)
        errors = compile_errors(loaded["code"])
        top = sandbox.maxima()
        over = {k: [f"at most {getattr(top, k)}"] for k, v in loaded["limits"].items() if v > getattr(top, k)}
        if over:
            errors["limits"] = over
        if errors:
            raise ma.ValidationError(errors)
        return loaded

    def describe(self) -> dict:
        reason = sandbox.available()
        return {**super().describe(), "available": reason is None, "unavailable_reason": reason,
                "limits": {"default": sandbox.clamp({}).as_dict(), "max": sandbox.maxima().as_dict()}}

    def perform(self, ctx: StageContext) -> Performed:
        names = ctx.config.get("secrets") or []
        values = ctx.secrets(names)
        used = list(values.values())
        result = sandbox.run(ctx.config["code"], ctx.values, sandbox.clamp(ctx.config.get("limits")),
                             secrets=values)
        log = tuple(redact(line, used) for line in log_lines(result))
        if not result.ok:
            raise StageFailed(redact(f"Code: {result.message}", used), log=log)
        leaking = [k for k, v in result.writes.items() if contains_secret(v, used)]
        if leaking:
            raise StageFailed(f"Code: refused to write a secret's value into {', '.join(sorted(leaking))}", log=log)
        return Performed(writes=result.writes, log=log)


def _tail(label: str, text: str) -> list[str]:
    lines = text.rstrip("\n").splitlines()
    cut = len(lines) > LOG_LINES
    kept = [f"{label}: {line[:LOG_LINE_CHARS]}{'…' if len(line) > LOG_LINE_CHARS else ''}"
            for line in lines[-LOG_LINES:]]
    return ([f"{label}: … {len(lines) - LOG_LINES} earlier lines not kept"] if cut else []) + kept


def log_lines(result: sandbox.Result) -> list[str]:
    status = "returned" if result.ok else f"failed: {result.message}"
    return [f"code: {status} in {result.duration_ms:.0f} ms", *_tail("stdout", result.stdout),
            *_tail("stderr", result.stderr)]
