"""The REST API under /api/v1, documented by flask-smorest from the marshmallow schemas."""
from flask_smorest import Api

from app.errors import http_error_response


class ProclyApi(Api):
    """flask-smorest with Procly's one error shape: {"error": {"code", "message", "details"}}."""

    def handle_http_exception(self, error):
        return http_error_response(error)


api = ProclyApi()

SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}]


def init_app(app) -> None:
    api.init_app(app, spec_kwargs={"security": SECURITY})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"})
    from app.api import processes, splits, tables, tasks, tokens

    for module in (tables, processes, splits, tasks, tokens):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
