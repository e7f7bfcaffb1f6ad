"""The marshmallow fields of the API's schemas: `from app import fields` instead of marshmallow's.

Two differ from marshmallow's own, so every schema gets them without thinking about it:
- `DateTime`: timestamps are stored as naive UTC; the API says so, RFC 3339 with "+00:00".
- `Integer` (`Int`): bounded to the 32-bit INTEGER columns every id, number and position lives in,
  so an out-of-range number is a 422 naming the field (and the bound is in the OpenAPI document),
  never a database overflow.
Everything else is marshmallow's."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import fields as _ma
from marshmallow import validate
from marshmallow.fields import *  # noqa: F401,F403  (the rest of marshmallow's fields, unchanged)

INT_MAX = 2**31 - 1   # ids are 32-bit columns: anything larger names no row


class DateTime(_ma.DateTime):
    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class Integer(_ma.Integer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators.append(validate.Range(min=-INT_MAX - 1, max=INT_MAX))


Int = Integer


# validators of the keys and names every object has (Tables, Fields, Processes, Splits, tokens)
KEY = validate.Regexp(r"^[a-z][a-z0-9_-]{0,63}$", error="must be a lowercase key: letters, digits, - and _")
NAME = validate.Length(min=1, max=120)
# a secret's name (app.vault, the Code stage's config.secrets): API_TOKEN, crm_key
SECRET_NAME = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
                              error="must be a name of letters, digits and _ (starting with a letter)")
