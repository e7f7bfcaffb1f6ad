"""Every 4xx under /api has one shape: {"error": {"code", "message", "details"}}; pages keep HTML."""
import pytest
from werkzeug.exceptions import TooManyRequests

from app.errors import handle_http_exception


def _shape(r, status, code):
    assert r.status_code == status
    assert r.is_json and set(r.json) == {"error"}
    assert set(r.json["error"]) == {"code", "message", "details"}
    assert r.json["error"]["code"] == code, r.json


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/processes", "/api/elsewhere"])
def test_unknown_api_urls_are_json_404(client, path):
    _shape(client.get(path), 404, "not_found")


def test_unknown_resources_are_json_404(world):
    _shape(world.api.staff.get("/api/v1/processes/ghost"), 404, "not_found")
    _shape(world.api.staff.get("/api/v1/tables/ghost"), 404, "not_found")
    _shape(world.api.staff.get("/api/v1/tasks/999"), 404, "not_found")


def test_wrong_method_is_json_405(world):
    r = world.api.admin.delete("/api/v1/tables")
    _shape(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]


def test_rate_limit_is_json_429_under_api(app):
    with app.test_request_context("/api/v1/tasks"):
        r = handle_http_exception(TooManyRequests("10 per 1 minute"))
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert "try again later" in r.json["error"]["message"]


def test_pages_keep_html_errors(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and r.mimetype == "text/html"



def test_csrf_failure_on_a_page_stays_html(client):
    r = client.post("/login", data={"email": "a@b.c", "password": "x"})
    assert r.status_code == 400 and r.mimetype == "text/html"
