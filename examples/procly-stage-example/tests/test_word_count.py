"""The Word count stage type on its own: config, cross-checks, perform (no app, no database)."""
import marshmallow as ma
import pytest

from app.stages import OnReady, StageContext
from procly_stage_example import WordCountType

TYPE = WordCountType()


def ctx(text, **config):
    loaded = TYPE.validate({"source": "note", "target": "words", **config})
    return StageContext(stage={"reads": ["note"], "writes": ["words"]}, config=loaded, values={"note": text})


def test_counts_words():
    assert TYPE.perform(ctx("Hello brave new world")) == {"words": 4}
    assert TYPE.perform(ctx("  it's a well-known fact ")) == {"words": 4}
    assert TYPE.perform(ctx(None)) == {"words": 0}


def test_minimum_fails_the_stage():
    with pytest.raises(ValueError, match="fewer than the 3"):
        TYPE.perform(ctx("two words", minimum=3))


def test_config_is_validated():
    with pytest.raises(ma.ValidationError) as exc:
        TYPE.validate({"source": "note"})
    assert "target" in exc.value.messages
    with pytest.raises(ma.ValidationError):
        TYPE.validate({"source": "note", "target": "words", "colour": "red"})
    schema = TYPE.config_json_schema()
    assert set(schema["required"]) == {"source", "target"}


def test_cross_checks_name_the_config_paths():
    stage = {"reads": ["name"], "writes": [], "config": {"source": "note", "target": "words"}}
    assert TYPE.check(stage, {}) == [("config.source", '"note" is not in reads'),
                                     ("config.target", '"words" is not in writes')]


def test_it_is_automated():
    assert TYPE.on_ready(ctx("x")) == OnReady.worker
    assert TYPE.describe()["needs"] == {"egress": False, "secrets": False, "sandbox": False, "files": False}
