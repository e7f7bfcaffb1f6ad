"""Word count: an automated Procly stage type that counts the words of a text Field and writes the
count into a number Field. A minimal third-party stage type: a config schema, a cross-check of the
Stage against its Fields, and `perform`, which sees only the Stage's readable Fields."""
from __future__ import annotations

import re

import marshmallow as ma

from app.stages import ConfigSchema, Needs, StageContext, StageType

WORD = re.compile(r"\w+(?:['’-]\w+)*")


class WordCountConfig(ConfigSchema):
    source = ma.fields.String(required=True, metadata={"description": "the text Field to count words of"})
    target = ma.fields.String(required=True, metadata={"description": "the number Field to write the count to"})
    minimum = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0), metadata={
        "description": "fewer words than this fails the Stage (0: any number)"})


class WordCountType(StageType):
    key = "word_count"
    name = "Word count"
    icon = "#"
    description = "Automated: count the words of a text Field into a number Field."
    automated = True
    config_schema = WordCountConfig
    needs = Needs()   # no outside calls, no secrets, no sandbox, no files

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        config = stage.get("config") or {}
        problems = []
        if config.get("source") not in (stage.get("reads") or []):
            problems.append(("config.source", f'"{config.get("source")}" is not in reads'))
        elif getattr(fields.get(config["source"]), "type", "text") != "text":
            problems.append(("config.source", f'"{config["source"]}" is not a text Field'))
        if config.get("target") not in (stage.get("writes") or []):
            problems.append(("config.target", f'"{config.get("target")}" is not in writes'))
        return problems

    def perform(self, ctx: StageContext) -> dict:
        text = ctx.values.get(ctx.config["source"]) or ""
        count = len(WORD.findall(str(text)))
        if count < ctx.config["minimum"]:
            raise ValueError(f"{count} word(s), fewer than the {ctx.config['minimum']} required")
        return {ctx.config["target"]: count}
