"""/api/v1/tokens: the caller's bearer API tokens for integrations."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from app import permissions
from app.api import schemas as s
from app.auth.access import login_required_api, require_login
from app.auth.tokens import issue_token, revoke_token
from app.errors import NotFound
from app.extensions import db
from app.models import ApiToken, Event

blp = Blueprint("tokens", __name__, description="Your API tokens (the secret is shown once)")


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
    def post(self, data):
        user = require_login()
        token, secret = issue_token(user, data["name"])
        db.session.add(Event(type="token.issued", actor=f"user:{user.id}", data={"token": token.id}))
        db.session.commit()
        token.secret = secret  # transient: dumped once in this response, never stored
        return token


@blp.route("/<int:token_id>", methods=["DELETE"])
@login_required_api
@blp.response(204)
def revoke(token_id):
    user = require_login()
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    permissions.check(user, "token.revoke", token)   # someone else's token: 404, as if it did not exist
    revoke_token(token)
    db.session.add(Event(type="token.revoked", actor=f"user:{user.id}", data={"token": token.id}))
    db.session.commit()
