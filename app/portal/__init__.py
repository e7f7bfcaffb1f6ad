"""The participant portal: magic links into one Task, status and action Stages, external threads."""
from app.models import notifications as _n, portal as _p  # noqa: F401  (register the tables)


def init_app(app) -> None:
    from app.portal.views import bp

    app.register_blueprint(bp)
