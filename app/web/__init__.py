"""Server-rendered pages: login and the signed-in shell."""
from flask import current_app

from app.web.routes import bp

# (endpoint, label) in menu order; features that are not installed are left out
NAV = [("web.home", "Home"), ("builder.index", "Builder"), ("queue.index", "Queue"),
       ("dashboards.index", "Dashboards")]


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _nav():
        return {"nav_items": lambda: [(e, label) for e, label in NAV if e in current_app.view_functions]}
