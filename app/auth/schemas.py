"""The schemas of API tokens: the REST API loads and dumps with them (and documents them in
OpenAPI); the pages load their forms and dump their boot data with the same ones."""
from marshmallow import Schema, validate

from app import fields
from app.fields import NAME


class TokenCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    scope = fields.String(load_default="read", validate=validate.OneOf(["read", "write", "admin"]),
                          metadata={"description": "read: GET/HEAD only; write: also changes; admin: also "
                                                   "admin-only operations (admins only). A token may not "
                                                   "create a token with more scope than its own."})
    expires_at = fields.DateTime(load_default=None, allow_none=True,
                                 metadata={"description": "optional; a token created with a token never "
                                                          "outlives it"})


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked = fields.Function(lambda t: t.revoked_at is not None)
    secret = fields.String(dump_only=True, metadata={"description": "shown once, at creation"})
    scope = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    parent_id = fields.Integer(allow_none=True, metadata={"description": "the token that created this one"})
    user_id = fields.Integer()
    active = fields.Function(lambda t: t.why_inactive is None, metadata={"description": "usable right now"})
    inactive_reason = fields.Function(lambda t: t.why_inactive, allow_none=True)


# --- people and Teams --------------------------------------------------------------------------------

ROLES = validate.OneOf(["admin", "designer", "staff", "manager"])
TEAM_NAMES = fields.List(fields.String(validate=NAME), validate=validate.Length(max=100),
                         metadata={"description": "names of the user's Teams (replaces the list)"})


class UserSchema(Schema):
    """A user as admins see it."""
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)
    invited = fields.Function(lambda u: not u.has_password, dump_only=True,
                              metadata={"description": "has not chosen a password yet"})
    teams = fields.Function(lambda u: sorted(t.name for t in u.teams), dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class UserInviteSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=NAME)
    role = fields.String(load_default="staff", validate=ROLES)
    teams = fields.List(fields.String(validate=NAME), load_default=list, validate=validate.Length(max=100))


class UserUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    role = fields.String(validate=ROLES)
    teams = TEAM_NAMES


class PersonSchema(Schema):
    """The narrow listing of people one may assign work to (`user:<email>` in a Stage's roles)."""
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    teams = fields.Function(lambda u: sorted(t.name for t in u.teams), dump_only=True)


class TeamSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=NAME)
    members = fields.Function(lambda t: getattr(t, "shown_members", None), dump_only=True, allow_none=True,
                              metadata={"description": "ids and names of the members (for admins and members; "
                                                       "null for other callers)"})


class SetPasswordSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    confirm = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
