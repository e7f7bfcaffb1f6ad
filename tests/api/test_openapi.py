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


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_integer_in_the_document_is_bounded_to_32_bits(spec):
    spec["components"]["schemas"].pop("PaginationMetadata", None)   # flask-smorest's own, unused here
    ints = [n for n in _walk(spec) if n.get("type") == "integer"]
    assert ints and all(n.get("maximum", 2**63) <= 2**31 - 1 for n in ints), [n for n in ints if "maximum" not in n]


def test_timestamps_in_the_document_are_date_times(spec):
    stamps = {name for n in _walk(spec) for name, prop in (n.get("properties") or {}).items()
              if name.endswith("_at") and prop.get("type") == "string"}
    assert stamps >= {"created_at", "updated_at", "published_at", "ready_at"}
    for n in _walk(spec):
        for name, prop in (n.get("properties") or {}).items():
            if name.endswith("_at"):
                assert prop.get("format") == "date-time", (name, prop)


def test_api_schemas_use_the_api_fields():
    """app.fields.DateTime dumps the UTC offset and Integer is bounded: a schema that imported
    marshmallow's own would silently lose both."""
    import importlib
    import pkgutil

    import marshmallow
    from marshmallow import fields as ma

    import app.api

    def fields_of(schema_cls):
        for f in schema_cls._declared_fields.values():
            yield f
            inner = getattr(f, "inner", None) or getattr(f, "value_field", None)
            if inner is not None:
                yield inner

    found = 0
    for info in pkgutil.iter_modules(app.api.__path__):
        module = importlib.import_module(f"app.api.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, marshmallow.Schema) and obj.__module__ == module.__name__:
                for f in fields_of(obj):
                    found += 1
                    assert type(f) not in (ma.DateTime, ma.Integer), (obj.__name__, f.name, type(f))
    assert found > 100
