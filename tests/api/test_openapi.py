"""/api/openapi.json is valid OpenAPI 3, documents every /api/v1 route, and its errors; /api/docs works offline."""
import re

import pytest
from openapi_spec_validator import validate

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def spec(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    return r.json


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_spec_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_v1_route_is_documented_rule_by_rule(app, spec):
    routes = {(_openapi_path(r.rule), m.lower()) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/v1/") for m in r.methods if m.lower() in METHODS}
    documented = {(path, m) for path, ops in spec["paths"].items() for m in ops if m in METHODS}
    assert routes, "no /api/v1 routes registered?"
    assert routes - documented == set()
    assert documented - routes == set()


def test_every_operation_taking_input_documents_a_4xx_error(spec):
    missing = []
    for path, ops in spec["paths"].items():
        shared = ops.get("parameters", [])
        for method, op in ops.items():
            if method not in METHODS:
                continue
            takes_input = "requestBody" in op or shared or op.get("parameters")
            if takes_input and not any(code.startswith("4") for code in op["responses"]):
                missing.append(f"{method.upper()} {path}")
            if "requestBody" in op:
                assert "422" in op["responses"] and "400" in op["responses"], (method, path)
    assert missing == []


def test_error_responses_document_the_one_error_shape(spec):
    error = spec["components"]["schemas"]["ApiError"]
    assert error["required"] == ["error"]
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "details"}
    for name in ("E400", "E401", "E403", "E404", "UNPROCESSABLE_ENTITY", "DEFAULT_ERROR"):
        ref = spec["components"]["responses"][name]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ApiError", name


def test_security_schemes(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert {"bearerAuth": []} in spec["security"]


def test_swagger_ui_page_uses_the_vendored_files(app, client):
    base = app.config["OPENAPI_SWAGGER_UI_URL"]
    assert base == "/static/vendor/swagger-ui/"
    html = client.get("/api/docs").get_data(as_text=True)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert f"{base}{name}" in html
        r = client.get(f"{base}{name}")
        assert r.status_code == 200 and len(r.data) > 1000, name
        r.close()
    assert "//cdn" not in html and "unpkg" not in html and "/api/openapi.json" in html
