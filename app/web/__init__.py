"""Server-rendered pages: login and the signed-in shell."""
from flask import current_app
from flask_login import current_user

from app.web import mailbox, secrets  # noqa: F401  (secrets' views are on account_bp)
from app.web.people import people_bp
from app.web.routes import account_bp, bp

# (endpoint, label, roles that may open it; None = everyone signed in), in menu order
NAV = [("web.home", "Home", None), ("builder.index", "Builder", None), ("worklist.index", "Queue", None),
       ("board.index", "Boards", None),
       ("dashboards.index", "Dashboards", ("admin", "manager", "designer")), ("account.tokens", "API tokens", None),
       ("account.secrets", "Secrets", ("admin", "designer")), ("people_pages.admin_users", "People", ("admin",))]


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(mailbox.bp)

    @app.context_processor
    def _nav():
        def items():
            role = getattr(current_user, "role", None)
            return [(e, label) for e, label, roles in NAV
                    if e in current_app.view_functions and (roles is None or role in roles)]

        return {"nav_items": items}
