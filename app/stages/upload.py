"""`file_upload` (File upload): staff or an invited participant upload files into one `file` Field
the Stage writes; the type is detected from the content, size and count are bounded, and staff may
have to review each file before the Stage completes. The upload itself goes through app.files (the
storage, the checks, the permission module); this module is the definition side: config, cross-checks,
and what an upload round makes of the run (`receive`)."""
from __future__ import annotations

import marshmallow as ma
from markupsafe import Markup
from sqlalchemy import select

from app.errors import Invalid
from app.extensions import db
from app.models import Field
from app.models.files import StoredFile
from app.stages.base import ConfigSchema, InputKind, Needs, StageContext, StageType, Submission

# allowed kinds -> (plain name, detected MIME types). The MIME types are what `filetype` reports
# from the content; "text" is UTF-8 text with no NUL byte (no magic number exists for it).
KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "pdf": ("PDF documents", frozenset({"application/pdf"})),
    "images": ("Images (JPEG, PNG, GIF, WebP, HEIC)", frozenset({
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"})),
    "office": ("Office documents (Word, Excel, PowerPoint, OpenDocument)", frozenset({
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation", "application/rtf"})),
    "text": ("Plain text and CSV", frozenset({"text/plain"})),
}
MAX_SIZE_MB = 1024          # the largest per-file limit a Stage may set
DEFAULT_SIZE_MB = 25


def allowed_types(kinds) -> frozenset[str]:
    out: set[str] = set()
    for k in kinds:
        out |= KINDS[k][1]
    return frozenset(out)


ACCEPT = {"pdf": ".pdf,application/pdf", "images": "image/*",
          "office": ".doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp,.rtf", "text": ".txt,.csv,.tsv,.md,text/plain"}


def kinds_label(kinds) -> str:
    return ", ".join(KINDS[k][0] for k in kinds)


class UploadConfig(ConfigSchema):
    field = ma.fields.String(required=True, metadata={
        "title": "File field", "x-field-type": "file",
        "description": "The file Field the uploads go into (one of the Stage's writes)."})
    instructions = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000), metadata={
        "title": "Instructions", "description": "Shown above the upload button."})
    kinds = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(list(KINDS))),
                           load_default=lambda: ["pdf", "images"], validate=ma.validate.Length(min=1), metadata={
        "title": "Allowed kinds of file", "default": ["pdf", "images"],
        "x-labels": {k: v[0] for k, v in KINDS.items()},
        "description": "Checked from the file's content, not its name."})
    max_size_mb = ma.fields.Integer(load_default=DEFAULT_SIZE_MB, validate=ma.validate.Range(1, MAX_SIZE_MB), metadata={
        "title": "Largest file (MB)", "default": DEFAULT_SIZE_MB})
    min_count = ma.fields.Integer(load_default=1, validate=ma.validate.Range(0, 50), metadata={
        "title": "Fewest files", "default": 1, "description": "How many files are required to finish."})
    max_count = ma.fields.Integer(load_default=5, validate=ma.validate.Range(1, 50), metadata={
        "title": "Most files", "default": 5})
    needs_review = ma.fields.Boolean(load_default=False, metadata={
        "title": "Staff review each file", "default": False,
        "description": "Staff accept or reject each file before the Stage completes."})

    @ma.validates_schema
    def _counts(self, data, **kw):
        if data.get("min_count", 1) > data.get("max_count", 5):
            raise ma.ValidationError("must not be more than the most files", "min_count")


class UploadType(StageType):
    key = "file_upload"
    name = "File upload"
    icon = "📎"
    description = ("Staff or a participant upload files into a file Field: kinds checked from the content, "
                   "size and count limits, optional staff review.")
    config_schema = UploadConfig
    needs = Needs(files=True)
    task_template = "stages/upload_task.html"
    portal_template = "stages/upload_portal.html"

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        key = (stage.get("config") or {}).get("field")
        if not key:
            return []
        field = fields.get(key)
        if field is None:
            return [("config.field", f'"{key}" is not a Field of the Table')]
        errors = []
        if getattr(field, "type", None) != "file":
            errors.append(("config.field", f'"{key}" is a {getattr(field, "type", "?")} Field, not a file Field'))
        if key not in (stage.get("writes") or []):
            errors.append(("config.field", f'"{key}" is not in writes'))
        return errors

    def waits_for_participant(self, stage: dict) -> bool:
        return (stage.get("visibility") or {}).get("external") == "action"

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        """Completing the Stage: the run's uploads (handed over by the core as `payload["files"]`,
        references of the live files of this run) become the Field's value. Too few, or files still
        waiting for review, refuse the completion naming the Field."""
        if kind not in (InputKind.submit, InputKind.participant):
            return super().receive(ctx, kind, payload)
        field = ctx.config["field"]
        if "files" not in (payload or {}):   # a look at what the Stage requires (the portal's form), no input
            return Submission(required=(field,) if ctx.config["min_count"] else ())
        files = [f for f in payload["files"] or [] if f.get("review") != "rejected"]
        pending = [f["name"] for f in files if f.get("review") == "pending"]
        if pending:
            raise Invalid(f"Review every file before finishing: {', '.join(pending)}.",
                          {f"values.{field}": ["has files waiting for review"]}, status=409, code="conflict")
        if len(files) < ctx.config["min_count"]:
            n = ctx.config["min_count"]
            raise Invalid(f"Upload at least {n} file{'s' if n != 1 else ''} before finishing.",
                          {f"values.{field}": [f"needs at least {n} file{'s' if n != 1 else ''}"]})
        refs = [{k: f[k] for k in ("id", "name", "content_type", "size")} for f in files]
        return Submission(values={field: refs})

    # --- what people see: the upload widget with the run's live files -----------------------------
    def _widget(self, run, stage: dict, task_table_id: int) -> dict:
        config = self.validate(stage.get("config") or {})
        field = db.session.scalar(select(Field).where(Field.table_id == task_table_id, Field.key == config["field"]))
        files = db.session.scalars(select(StoredFile).where(
            StoredFile.stage_run_id == run.id, StoredFile.removed_at.is_(None),
            StoredFile.purged_at.is_(None)).order_by(StoredFile.id)).all()
        return {"config": config, "field": field, "files": files, "kinds": kinds_label(config["kinds"]),
                "accept": ",".join(ACCEPT[k] for k in config["kinds"])}

    def render_task(self, **context) -> Markup:
        r = context["r"]
        return super().render_task(**context, **self._widget(r["run"], r["stage"], r["run"].task.table_id))

    def render_portal(self, **context) -> Markup:
        ps = context["ps"]
        return super().render_portal(**context, **self._widget(ps.run, ps.stage, ps.run.task.table_id))
