"""The definition document: schemas, normalization, content hash, stage types."""
import copy
import datetime
import json

import marshmallow as ma
import pytest

from app import stages as stage_types
from app.definitions.definition import content_hash, error_paths, normalize, parse_duration

DOC = {
    "stages": [
        {"key": "collect", "name": "Collect basic information", "type": "form",
         "reads": ["name", "email"], "writes": ["email", "budget"],
         "visibility": {"external": "action"},
         "sla": {"due": "48h", "reminders": ["24h"], "escalate_after": "2h"}},
        {"key": "eligibility", "name": "Confirm eligibility", "type": "basic",
         "approval": {"approvers": ["team:Intake"]}, "roles": {"responsible": ["automation"]}},
        {"key": "review", "name": "Review", "type": "basic", "column": 1},
        {"key": "schedule", "name": "Schedule", "type": "basic", "after": ["collect"]},
    ],
    "routes": [
        {"key": "too_small", "name": "Budget too small", "trigger": {"type": "condition", "condition": "budget < 1000"},
         "target": {"process": "referral"}},
    ],
}


def test_normalize_fills_every_default():
    n = normalize(DOC)
    collect, eligibility, review, schedule = n["stages"]
    assert [s["column"] for s in n["stages"]] == [0, 1, 1, 2]
    assert collect["config"] == {"instructions": "", "required": []}
    assert eligibility["config"] == {"checklist": [], "checklist_required": False, "instructions": ""}
    assert collect["visibility"] == {"internal": {"teams": [], "roles": []}, "external": "action"}
    assert review["visibility"] == {"internal": {"teams": [], "roles": []}, "external": "none"}
    assert review["roles"] == {"responsible": [], "approver": [], "informed": [], "delegator": []}
    assert review["retry"] == {"attempts": 1, "backoff": "10s", "factor": 2.0}
    assert review["after"] == [] and review["reads"] == [] and review["writes"] == []
    assert review["gate"] is None and review["approval"] is None and review["sla"] is None
    assert review["start_when"] is None and review["skip_when"] is None
    assert eligibility["approval"] == {"required": True, "approvers": ["team:Intake"], "sla": None}
    assert collect["sla"] == {"due": "48h", "reminders": ["24h"], "escalate_after": "2h"}
    assert n["routes"][0]["stage"] is None
    assert n["routes"][0]["target"] == {"process": "referral", "split": None, "stage": None}


def test_normalize_is_idempotent_and_pure():
    original = copy.deepcopy(DOC)
    n = normalize(DOC)
    assert DOC == original
    assert normalize(n) == n
    assert normalize(copy.deepcopy(n)) == n
    assert normalize({}) == {"stages": [], "routes": []}


def test_content_hash_is_stable():
    h = content_hash(DOC)
    assert len(h) == 64 and h == content_hash(normalize(DOC))
    reordered = json.loads(json.dumps(DOC), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert list(reordered) == ["routes", "stages"]
    assert content_hash(reordered) == h
    changed = copy.deepcopy(DOC)
    changed["stages"][0]["name"] = "Collect"
    assert content_hash(changed) != h
    explicit = copy.deepcopy(DOC)
    explicit["stages"][1]["column"] = 1
    explicit["stages"][0]["config"] = {"required": [], "instructions": ""}
    assert content_hash(explicit) == h


def test_unicode_hash_matches_spec():
    import hashlib
    doc = {"stages": [{"key": "a", "name": "Prüfung ✓", "type": "basic"}]}
    text = json.dumps(normalize(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_hash(doc) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def _paths(doc):
    with pytest.raises(ma.ValidationError) as info:
        normalize(doc)
    return dict(error_paths(info.value.messages))


def test_unknown_keys_are_errors():
    doc = {"stages": [{"key": "a", "name": "A", "type": "basic", "colour": "red",
                       "retry": {"tries": 3}}], "extra": 1}
    errors = _paths(doc)
    assert errors == {"stages[0].colour": "Unknown field.", "stages[0].retry.tries": "Unknown field.",
                      "extra": "Unknown field."}


@pytest.mark.parametrize("stage_patch, path", [
    ({"key": "Collect"}, "stages[0].key"),
    ({"key": "1a"}, "stages[0].key"),
    ({"name": ""}, "stages[0].name"),
    ({"column": -1}, "stages[0].column"),
    ({"column": "1"}, "stages[0].column"),
    ({"sla": {"due": "2 days"}}, "stages[0].sla.due"),
    ({"sla": {"due": "2h", "reminders": ["1w"]}}, "stages[0].sla.reminders[0]"),
    ({"retry": {"backoff": "10"}}, "stages[0].retry.backoff"),
    ({"retry": {"attempts": 0}}, "stages[0].retry.attempts"),
    ({"gate": {"type": "vote"}}, "stages[0].gate.type"),
    ({"visibility": {"external": "public"}}, "stages[0].visibility.external"),
    ({"visibility": {"internal": {"roles": ["boss"]}}}, "stages[0].visibility.internal.roles[0]"),
    ({"roles": {"approver": ["automation"]}}, "stages[0].roles.approver[0]"),
    ({"roles": {"informed": ["bob"]}}, "stages[0].roles.informed[0]"),
    ({"roles": {"informed": ["user:bob"]}}, "stages[0].roles.informed[0]"),
    ({"roles": {"delegator": ["role:owner"]}}, "stages[0].roles.delegator[0]"),
    ({"approval": {"approvers": ["automation"]}}, "stages[0].approval.approvers[0]"),
    ({"gate": {"type": "approval", "approvers": ["team:"]}}, "stages[0].gate.approvers[0]"),
    ({"reads": "name"}, "stages[0].reads"),
    ({"start_when": 5}, "stages[0].start_when"),
])
def test_shape_errors_have_paths(stage_patch, path):
    stage = {"key": "a", "name": "A", "type": "basic", **stage_patch}
    assert path in _paths({"stages": [stage]})


def test_missing_required_keys():
    errors = _paths({"stages": [{}], "routes": [{"key": "r", "name": "R", "target": {}}]})
    assert set(errors) == {"stages[0].key", "stages[0].name", "stages[0].type", "routes[0].trigger"}
    assert errors["stages[0].key"] == "Missing data for required field."
    assert _paths([]) == {"": "Invalid input type."}


def test_role_references_accepted():
    stage = {"key": "a", "name": "A", "type": "basic", "roles": {
        "responsible": ["automation", "user:ann@example.com", "team:Intake Team", "role:staff"],
        "approver": ["role:manager"], "informed": ["role:admin"], "delegator": ["role:designer"]}}
    assert normalize({"stages": [stage]})["stages"][0]["roles"]["responsible"][0] == "automation"


@pytest.mark.parametrize("text, expected", [
    ("48h", datetime.timedelta(hours=48)), ("7d", datetime.timedelta(days=7)),
    ("30m", datetime.timedelta(minutes=30)), ("10s", datetime.timedelta(seconds=10)),
    ("0s", datetime.timedelta(0)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "1.5h", "2w", "-1h", " 1h", "1h ", "1H"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_brief_sla_examples_are_expressible():
    stages = [
        {"key": "standard", "name": "Standard approval", "type": "basic", "sla": {"due": "48h"}},
        {"key": "urgent", "name": "Urgent security decision", "type": "basic",
         "sla": {"due": "4h", "escalate_after": "2h"}},
        {"key": "compliance", "name": "Complex compliance review", "type": "basic",
         "sla": {"due": "7d", "reminders": ["24h", "72h"]}},
    ]
    assert [s["sla"]["due"] for s in normalize({"stages": stages})["stages"]] == ["48h", "4h", "7d"]


def test_stage_type_registry():
    keys = {t.key for t in stage_types.all_types()}
    assert {"basic", "form"} <= keys
    form = stage_types.get("form")
    assert form.name == "Form Data Collect" and form.icon and not form.automated
    assert stage_types.get("nope") is None
    schema = form.config_json_schema()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["properties"]["required"]["type"] == "array"
    basic = stage_types.get("basic").config_json_schema()
    assert basic["properties"]["checklist"]["items"] == {"type": "string"}
    assert basic["properties"]["instructions"]["default"] == ""
    with pytest.raises(NotImplementedError):
        form.run({}, {})


def test_registering_a_custom_type():
    class Upper(stage_types.ConfigSchema):
        field = ma.fields.String(required=True)

    class UpperType(stage_types.StageType):
        key, name, icon, automated, config_schema = "upper_test", "Upper", "⇧", True, Upper

        def run(self, values, config):
            return {config["field"]: str(values.get(config["field"], "")).upper()}

    registry = stage_types.build(discover=False)
    registry.register(UpperType())
    t = registry.get("upper_test")
    assert t.run({"name": "ann"}, {"field": "name"}) == {"name": "ANN"}
    ctx = stage_types.StageContext(stage={}, config={"field": "name"}, values={"name": "ann"})
    assert t.perform(ctx) == {"name": "ANN"}
    assert t.config_json_schema()["required"] == ["field"]
    assert t.describe()["automated"] is True
    assert t.on_ready(ctx) == stage_types.OnReady.worker
    with pytest.raises(ValueError, match="two stage types"):
        registry.register(UpperType())
    assert stage_types.get("upper_test") is None   # the running app's registry is another one
