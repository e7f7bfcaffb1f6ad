"""Definition validation: every error, each with its JSON path."""
import copy

import pytest

from app.definitions.definition import normalize
from app.cel.expressions import FieldInfo
from app.definitions.validation import Context, DefinitionError, validate_definition, validate_for_publish

FIELDS = {k: FieldInfo(k, t, {}) for k, t in [
    ("name", "text"), ("email", "email"), ("budget", "number"), ("location", "choice"),
    ("eligible", "boolean"), ("slot", "datetime")]}
CTX = Context(fields=FIELDS, process_key="intake",
              processes={"referral": frozenset({"triage", "call"}), "rejection": frozenset()},
              splits=frozenset({"intake-ab"}))


def stage(key, **kw):
    return {"key": key, "name": key.title(), "type": "basic", **kw}


def route(key, trigger, target, **kw):
    return {"key": key, "name": key.title(), "trigger": trigger, "target": target, **kw}


GOOD = {
    "stages": [
        stage("collect", type="form", reads=["name"], writes=["name", "email", "budget"],
              config={"required": ["name", "email"]}),
        stage("eligibility", start_when="budget != null", approval={"approvers": ["team:Intake"]}),
        stage("check", column=1, skip_when='location == "Berlin"'),
        stage("schedule", gate={"type": "condition", "condition": "eligible"}, after=["eligibility"]),
        stage("confirm", gate={"type": "approval", "approvers": ["role:manager"]}),
    ],
    "routes": [
        route("too_small", {"type": "condition", "condition": "budget < 1000"}, {"process": "referral"},
              stage="collect"),
        route("rejected", {"type": "approval_rejected"}, {"process": "rejection"}, stage="eligibility"),
        route("gate_no", {"type": "approval_rejected"}, {"process": "referral", "stage": "call"}, stage="confirm"),
        route("failed", {"type": "stage_failed"}, {"split": "intake-ab"}, stage="schedule"),
    ],
}


def errors_of(doc, ctx=CTX):
    normalized, errors = validate_definition(doc, ctx)
    return [str(e) for e in errors]


def with_(path_fn):
    doc = copy.deepcopy(GOOD)
    path_fn(doc)
    return errors_of(doc)


def test_good_document_is_valid_and_normalized():
    normalized, errors = validate_definition(GOOD, CTX)
    assert errors == []
    assert normalized == normalize(GOOD)
    assert validate_for_publish(GOOD, CTX) == (normalized, [])


def test_error_str():
    assert str(DefinitionError("stages[2].reads[0]", 'unknown field "budget"')) == \
        'stages[2].reads[0]: unknown field "budget"'
    assert str(DefinitionError("", "Invalid input type.")) == "Invalid input type."


def test_shape_errors_return_no_document():
    doc = {"stages": [stage("a", colour="red"), {"key": "b"}], "routes": [route("r", {}, {})]}
    normalized, errors = validate_definition(doc, CTX)
    assert normalized is None
    assert {str(e) for e in errors} >= {"stages[0].colour: Unknown field.",
                                         "stages[1].name: Missing data for required field.",
                                         "routes[0].trigger.type: Missing data for required field."}


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["stages"][2].update(key="collect"), 'stages[2].key: duplicate stage key "collect"'),
    (lambda d: d["routes"][1].update(key="too_small"), 'routes[1].key: duplicate route key "too_small"'),
    (lambda d: d["stages"][2].update(type="telepathy"), 'stages[2].type: unknown stage type "telepathy"'),
    (lambda d: d["stages"][1].update(config={"checklist": ["ok", 5]}),
     "stages[1].config.checklist[1]: Not a valid string."),
    (lambda d: d["stages"][1].update(config={"colour": 1}), "stages[1].config.colour: Unknown field."),
    (lambda d: d["stages"][0].update(writes=["name", "budget"]),
     'stages[0].config.required[1]: "email" is not in writes'),
    (lambda d: d["stages"][4].update(column=0), "stages[4].column: columns must not decrease "
                                                 "(the previous Stage is in column 2)"),
    (lambda d: d["stages"][3].update(after=["nope"]), 'stages[3].after[0]: unknown stage "nope"'),
    (lambda d: d["stages"][3].update(after=["schedule"]), "stages[3].after[0]: a Stage cannot come after itself"),
    (lambda d: d["stages"][3].update(after=["collect", "collect"]), 'stages[3].after[1]: duplicate stage "collect"'),
    (lambda d: d["stages"][0].update(reads=["name", "budjet"]), 'stages[0].reads[1]: unknown field "budjet"'),
    (lambda d: d["stages"][0].update(writes=["name", "email", "budget", "name"]),
     'stages[0].writes[3]: duplicate field "name"'),
    (lambda d: d["stages"][1].update(start_when="amount > 3"), 'stages[1].start_when: unknown field "amount"'),
    (lambda d: d["stages"][2].update(skip_when="budget"),
     "stages[2].skip_when: must be a boolean condition, got number"),
    (lambda d: d["stages"][1].update(start_when="budget >"), "stages[1].start_when: syntax error at column 8"),
    (lambda d: d["stages"][3]["gate"].update(condition="name == 1"),
     "stages[3].gate.condition: cannot compare string with number"),
    (lambda d: d["stages"][3]["gate"].update(condition=None),
     "stages[3].gate.condition: a condition gate needs a condition"),
    (lambda d: d["stages"][4]["gate"].update(condition="eligible"),
     "stages[4].gate.condition: only a condition gate has a condition"),
    (lambda d: d["routes"][3].update(stage=None), "routes[3].stage: a stage_failed trigger needs a stage"),
    (lambda d: d["routes"][1].update(stage=None), "routes[1].stage: a approval_rejected trigger needs a stage"),
    (lambda d: d["routes"][0].update(stage="nope"), 'routes[0].stage: unknown stage "nope"'),
    (lambda d: d["routes"][1].update(stage="collect"), 'routes[1].stage: "collect" has no approval or approval gate'),
    (lambda d: d["routes"][0]["trigger"].update(condition="budget < "),
     "routes[0].trigger.condition: syntax error at column 8"),
    (lambda d: d["routes"][0]["trigger"].update(condition="budget < 'x'"),
     "routes[0].trigger.condition: cannot compare number with string"),
    (lambda d: d["routes"][0]["trigger"].update(condition=None),
     "routes[0].trigger.condition: a condition trigger needs a condition"),
    (lambda d: d["routes"][3]["trigger"].update(condition="eligible"),
     "routes[3].trigger.condition: only a condition trigger has a condition"),
    (lambda d: d["routes"][0].update(target={}), "routes[0].target: give exactly one of process, split or end, or a stage of this Process alone"),
    (lambda d: d["routes"][0].update(target={"process": "referral", "split": "intake-ab"}),
     "routes[0].target: give exactly one of process, split or end, or a stage of this Process alone"),
    (lambda d: d["routes"][0].update(target={"process": "nowhere"}), 'routes[0].target.process: no such process "nowhere"'),
    (lambda d: d["routes"][0].update(target={"process": "intake"}),
     "routes[0].target.process: a Route may not target its own Process"),
    (lambda d: d["routes"][3].update(target={"split": "x"}), 'routes[3].target.split: no such split "x"'),
    (lambda d: d["routes"][3].update(target={"split": "intake-ab", "stage": "call"}),
     "routes[3].target.stage: a Split target cannot name a Stage"),
    (lambda d: d["routes"][2]["target"].update(stage="triage2"),
     'routes[2].target.stage: no such stage "triage2" in process "referral"'),
])
def test_each_error_with_its_path(mutate, expected):
    errors = with_(mutate)
    assert expected in errors
    assert len(errors) == 1, errors


def test_cycle_is_reported_on_each_after_in_it():
    doc = copy.deepcopy(GOOD)
    doc["stages"][1]["after"] = ["confirm"]  # confirm waits for schedule, which waits for eligibility
    assert errors_of(doc) == ['stages[1].after: cycle through "confirm"',
                              'stages[3].after: cycle through "eligibility"']


def test_cycle_through_lane_order():
    # "review" (column 2) waits for column 1, which holds "confirm"; "confirm" waits for "review".
    doc = {"stages": [stage("collect"), stage("confirm", after=["review"]), stage("review")]}
    assert errors_of(doc) == ['stages[1].after: cycle through "review"']


def test_after_may_point_forward_without_cycle():
    doc = {"stages": [stage("a"), stage("b", after=["c"]), stage("c", column=1)]}
    assert errors_of(doc) == []


def test_all_errors_are_reported_at_once():
    doc = copy.deepcopy(GOOD)
    doc["stages"][0]["reads"] = ["budget", "nope"]
    doc["stages"][2]["type"] = "telepathy"
    doc["stages"][4]["after"] = ["ghost"]
    doc["routes"][0]["target"] = {"process": "nowhere"}
    normalized, errors = validate_definition(doc, CTX)
    assert normalized is not None
    assert [str(e) for e in errors] == [
        'stages[0].reads[1]: unknown field "nope"',
        'stages[2].type: unknown stage type "telepathy"',
        'stages[4].after[0]: unknown stage "ghost"',
        'routes[0].target.process: no such process "nowhere"',
    ]


def test_empty_lane_is_a_valid_draft_but_not_publishable():
    assert validate_definition({"stages": []}, CTX) == ({"stages": [], "routes": []}, [])
    _, errors = validate_for_publish({}, CTX)
    assert [str(e) for e in errors] == ["stages: a Process needs at least one Stage"]
    assert validate_for_publish({"stages": [stage("a")]}, CTX)[1] == []


def test_start_and_four_eyes_keys():
    """`start` (who may start Tasks, which Fields a start sets) and `approval.four_eyes` are
    validated with their paths; at their defaults they are left out, so the hash does not move."""
    from app.definitions.definition import content_hash, start_spec

    doc = copy.deepcopy(GOOD)
    doc["start"] = {"roles": ["team:Intake", "boss"], "writes": ["name", "ghost"]}
    doc["stages"][1]["approval"]["four_eyes"] = "sometimes"
    errs = errors_of(doc)
    assert any(e.startswith("start.roles[1]:") for e in errs), errs
    assert any(e.startswith("stages[1].approval.four_eyes:") for e in errs), errs
    doc["start"]["roles"].pop()
    doc["stages"][1]["approval"]["four_eyes"] = False
    assert errors_of(doc) == ['start.writes[1]: unknown field "ghost"']
    same = copy.deepcopy(GOOD)
    assert normalize({**GOOD, "start": None}) == normalize(GOOD)
    same["start"] = {"roles": [], "writes": None}
    same["stages"][1]["approval"]["four_eyes"] = True
    assert normalize(same) == normalize(GOOD) and content_hash(same) == content_hash(GOOD)
    assert "start" not in normalize(same)
    # defaults: the owning Team; the first column's writes
    assert start_spec(normalize(GOOD), "Intake") == (["team:Intake"], ["budget", "email", "name"])
    doc["start"]["writes"] = ["name"]
    assert start_spec(normalize(doc), "Intake") == (["team:Intake"], ["name"])


def test_route_target_on_another_table():
    """A Route moves the Task itself: a Process or Split on another Table cannot be its target."""
    import dataclasses

    ctx = dataclasses.replace(CTX, other_table=frozenset({"referral", "intake-ab"}))
    errs = errors_of(GOOD, ctx)
    assert 'routes[0].target.process: process "referral" works on another table' in errs
    assert 'routes[3].target.split: split "intake-ab" works on another table' in errs
