"""The REST API under /api/v1, documented by flask-smorest from the marshmallow schemas."""
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api

from app.api.schemas import ApiErrorSchema
from app.errors import handle_http_exception
from app.api import limits
from app.api import ai, alerts, bookings, callbacks, conversations, files, imports, metrics, processes, runs, secrets, splits, tables, tasks, tokens, users


# documented on every operation where they can happen (flask-smorest adds 422 for arguments itself)
ERRORS = {"400": "Malformed request (e.g. invalid JSON or CSRF failure)", "401": "Not signed in",
          "403": "Your role or Team may not do this", "404": "No such resource"}


class ProclyApi(Api):
    """flask-smorest with Procly's one error shape: {"error": {"code", "message", "details"}}."""

    ERROR_SCHEMA = ApiErrorSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def register_blueprint(self, blp, **options):
        super().register_blueprint(blp, **options)
        self._document_errors()

    def _document_errors(self) -> None:
        responses = self.spec.components.responses
        for code, text in ERRORS.items():
            if f"E{code}" not in responses:
                self.spec.components.response(f"E{code}", {"description": text, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}})
        for path, ops in self.spec._paths.items():
            for method, op in ops.items():
                if method == "parameters":
                    continue
                wanted = ["401"] + (["403"] if method != "get" else []) + (["404"] if "{" in path else []) \
                    + (["400"] if "requestBody" in op else [])
                for code in wanted:
                    op["responses"].setdefault(code, {"$ref": f"#/components/responses/E{code}"})


api = ProclyApi()

SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}]


def schema_name(schema) -> str:
    """Schemas of app.api.schemas keep their plain name; others are prefixed with their module
    (metrics.VariantSchema -> MetricsVariant), so two modules never clash in the OpenAPI document."""
    cls = resolve_schema_cls(schema)
    cls = cls[0] if isinstance(cls, list) else cls
    name, module = resolver(schema), cls.__module__.rsplit(".", 1)[-1]
    return name if module in ("schemas", "fields") or name.startswith(module.title()) else module.title() + name


def init_app(app) -> None:

    limits.init_app(app)  # before any route is added: it sets the `int` converter
    api.init_app(app, spec_kwargs={"security": SECURITY,
                                   "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"})

    for module in (tables, processes, splits, tasks, tokens, runs, bookings, metrics, alerts, secrets, conversations, users, ai,
                   callbacks, imports):
        for bp in getattr(module, "blueprints", (module.blp,)):
            api.register_blueprint(bp, url_prefix=getattr(bp, "api_prefix", f"/api/v1/{bp.name}"))
    api.register_blueprint(files.blp, url_prefix="/api/v1/files")
    api.register_blueprint(files.run_files_blp, url_prefix="/api/v1/runs")
    api.register_blueprint(files.task_files_blp, url_prefix="/api/v1/tasks")
