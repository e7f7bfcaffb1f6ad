"""/api/v1/users (admins: invite, change role / Teams, deactivate, reactivate, password reset),
/api/v1/people (everyone signed in: whom they may assign work to) and /api/v1/teams (names for
everyone; members for admins and members; admins create them). app.auth.users decides and
writes; bearer tokens need the admin scope for every admin operation (app.auth.access)."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth import users
from app.auth.access import actor, admin_only, login_required_api, require_login
from app.auth.schemas import PersonSchema, TeamSchema, UserInviteSchema, UserSchema, UserUpdateSchema

blp = Blueprint("users", __name__, description="People: admins manage accounts (tokens need the admin scope)")
people_blp = Blueprint("people", __name__, description="The people you may assign work to")
teams_blp = Blueprint("teams", __name__, description="Teams and their members")
blueprints = (blp, people_blp, teams_blp)


@blp.route("")
class Users(MethodView):
    @admin_only
    @login_required_api
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """Every user, active first (admins)."""
        return users.list_users(require_login())

    @admin_only
    @login_required_api
    @blp.arguments(UserInviteSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, description="the email already has an account")
    def post(self, data):
        """Invite a person: the account is created without a password and a single-use link to choose
        one is emailed (valid 7 days)."""
        return users.invite(require_login(), data, actor())


@blp.route("/<int:user_id>")
class UserById(MethodView):
    @admin_only
    @login_required_api
    @blp.response(200, UserSchema)
    def get(self, user_id):
        return users.get_user(require_login(), user_id)

    @admin_only
    @login_required_api
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        """Change the name, role or Teams (`teams` replaces the list). Nobody changes their own role."""
        return users.update_user(require_login(), user_id, data, actor())


@blp.route("/<int:user_id>/deactivate", methods=["POST"])
@admin_only
@login_required_api
@blp.response(200, UserSchema)
def deactivate(user_id):
    """The user can no longer sign in; their sessions, API tokens and password links end at once."""
    return users.deactivate(require_login(), user_id, actor())


@blp.route("/<int:user_id>/reactivate", methods=["POST"])
@admin_only
@login_required_api
@blp.response(200, UserSchema)
def reactivate(user_id):
    """Signing in works again (revoked tokens stay revoked)."""
    return users.reactivate(require_login(), user_id, actor())


@blp.route("/<int:user_id>/password-reset", methods=["POST"])
@admin_only
@login_required_api
@blp.response(200, UserSchema)
def password_reset(user_id):
    """Email the user a single-use link to choose a new password (valid 60 minutes)."""
    return users.send_reset(require_login(), user_id, actor())


@people_blp.route("")
@login_required_api
@people_blp.response(200, PersonSchema(many=True))
def people():
    """The active people you may assign work to (name them as `user:<email>` in a Stage's roles):
    the members of your Teams; admins see everyone."""
    return users.list_people(require_login())


@teams_blp.route("")
class Teams(MethodView):
    @login_required_api
    @teams_blp.response(200, TeamSchema(many=True))
    def get(self):
        """Every Team; its members only for admins and its own members."""
        return users.list_teams(require_login())

    @admin_only
    @login_required_api
    @teams_blp.arguments(TeamSchema)
    @teams_blp.response(201, TeamSchema)
    @teams_blp.alt_response(409, description="a Team of that name exists")
    def post(self, data):
        """Create a Team (admins). Add members with PATCH /api/v1/users/{id}."""
        team = users.create_team(require_login(), data, actor())
        team.shown_members = []
        return team
