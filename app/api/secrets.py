"""/api/v1/secrets: a Team's secrets, write-only. Lists names and metadata; a value goes in with a
create or a replace and never comes out again. Designers and admins of the owning Team."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import actor, login_required_api, require_login
from app.vault import operations
from app.vault.schemas import SecretCreateSchema, SecretQuerySchema, SecretReplaceSchema, SecretSchema

blp = Blueprint("secrets", __name__, description="Secrets of a Team (write-only values, encrypted at rest)")
blueprints = (blp,)


@blp.route("")
class Secrets(MethodView):
    @login_required_api
    @blp.arguments(SecretQuerySchema, location="query")
    @blp.response(200, SecretSchema(many=True))
    def get(self, query):
        """The secrets of your Teams you may manage: names and metadata, never values."""
        return operations.list_secrets(require_login(), query.get("team"))

    @login_required_api
    @blp.arguments(SecretCreateSchema)
    @blp.response(201, SecretSchema)
    @blp.alt_response(409, description="the Team already has a secret of that name")
    def post(self, data):
        """Create a secret. Its value is encrypted and never returned."""
        return operations.create_secret(require_login(), data, actor())


@blp.route("/<int:secret_id>")
class SecretById(MethodView):
    @login_required_api
    @blp.response(200, SecretSchema)
    def get(self, secret_id):
        """One secret's metadata (never its value)."""
        return operations.get_secret(require_login(), secret_id)

    @login_required_api
    @blp.arguments(SecretReplaceSchema)
    @blp.response(200, SecretSchema)
    def put(self, data, secret_id):
        """Replace a secret's value (and description)."""
        return operations.replace_secret(require_login(), secret_id, data, actor())

    @login_required_api
    @blp.response(204)
    def delete(self, secret_id):
        """Delete a secret; Stages naming it fail until it exists again."""
        operations.delete_secret(require_login(), secret_id, actor())
