"""/api/v1/tokens: the caller's bearer API tokens; /api/v1/admin/tokens: everyone's, for admins.

A token created with a bearer token is that token's child: no more scope, no later expiry, and it
stops working when its parent is revoked. Scopes are enforced in app.auth.access for every call."""
from datetime import timezone

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api import schemas as s
from app.auth.access import actor, login_required_api, require_login, roles_required
from app.auth.tokens import issue_token, revoke_token
from app.errors import NotFound
from app.extensions import db
from app.models import ApiToken, Event, Role

blp = Blueprint("tokens", __name__, description="Your API tokens (the secret is shown once)")
admin_blp = Blueprint("admin", __name__, description="Admin-only operations (tokens need the admin scope)")
blueprints = (blp, admin_blp)


def _naive_utc(when):
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when and when.tzinfo else when


@blp.route("")
class Tokens(MethodView):
    @login_required_api
    @blp.response(200, s.TokenSchema(many=True))
    def get(self):
        user = require_login()
        return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()

    @login_required_api
    @blp.arguments(s.TokenCreateSchema)
    @blp.response(201, s.TokenSchema)
    @blp.alt_response(403, description="more scope than the creating token, or admin scope for a non-admin")
    def post(self, data):
        """Create a token (scope `read` unless asked). With a bearer token, the new token is its child."""
        user = require_login()
        token, secret = issue_token(user, data["name"], scope=data["scope"],
                                    expires_at=_naive_utc(data["expires_at"]), parent=g.get("api_token"))
        db.session.add(Event(type="token.issued", actor=actor(),
                             data={"token": token.id, "scope": token.scope, "parent": token.parent_id}))
        token.secret = secret  # transient: dumped once in this response, never stored
        return token


@blp.route("/<int:token_id>", methods=["DELETE"])
@login_required_api
@blp.response(204)
def revoke(token_id):
    """Revoke one of your tokens; the tokens it created stop working with it."""
    user = require_login()
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    revoke_token(token, user)   # someone else's token: 404, as if it did not exist
    db.session.add(Event(type="token.revoked", actor=actor(), data={"token": token.id}))


@admin_blp.route("/tokens")
@roles_required(Role.admin)
@admin_blp.response(200, s.TokenSchema(many=True))
@admin_blp.alt_response(403, description="not an admin, or a token without the admin scope")
def all_tokens():
    """Every user's tokens (admins; a bearer token needs the admin scope)."""
    return db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


@admin_blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@roles_required(Role.admin)
@admin_blp.response(204)
def revoke_any(token_id):
    """Revoke anyone's token (admins; a bearer token needs the admin scope)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    revoke_token(token, require_login(), any_user=True)
    db.session.add(Event(type="token.revoked", actor=actor(), data={"token": token.id, "user": token.user_id}))
