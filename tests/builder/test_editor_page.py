"""The editor page carries its boot data inline: it must be exactly what the API would return, and
stay inert inside the page whatever the definition holds."""
import json
import re

BOOT = re.compile(r'<script id="builder-boot" type="application/json">(.*?)</script>', re.S)


def _boot(client, key):
    r = client.get(f"/builder/{key}")
    assert r.status_code == 200
    m = BOOT.search(r.get_data(as_text=True))
    assert m, "the editor page has no boot data"
    return json.loads(m.group(1))


def test_boot_data_equals_the_api_responses(demo, web_login):
    client = web_login("designer@procly.local")
    boot = _boot(client, "intake")
    assert boot["types"] == client.get("/api/v1/processes/stage-types").get_json()
    assert boot["table"] == client.get("/api/v1/tables/clients").get_json()
    assert boot["processes"] == client.get("/api/v1/processes").get_json()
    assert boot["draft"] == client.get("/api/v1/processes/intake/draft").get_json()
    assert boot["splits"] == client.get("/api/v1/splits").get_json()
    assert [s["key"] for s in boot["draft"]["definition"]["stages"]]


def test_markup_in_a_definition_cannot_break_out_of_the_boot_data(demo, web_login, api_as):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    designer = api_as(db.session.scalar(select(User).where(User.email == "designer@procly.local")))
    d = designer.get("/api/v1/processes/intake/draft").get_json()
    evil = '</script><script>alert(1)</script>'
    d["definition"]["stages"][0]["name"] = evil
    r = designer.put("/api/v1/processes/intake/draft", json={"definition": d["definition"], "revision": d["revision"]})
    assert r.status_code == 200, r.get_json()
    client = web_login("designer@procly.local")
    html = client.get("/builder/intake").get_data(as_text=True)
    assert evil not in html
    assert _boot(client, "intake")["draft"]["definition"]["stages"][0]["name"] == evil
