"""The staff queue: My work, Table views, the Task page, threads and the notification centre."""
from app.models import notifications as _n, portal as _p  # noqa: F401  (register the tables)


def init_app(app) -> None:
    from app import notifications
    from app.queue_ui.views import bp

    notifications.init_app(app)

    app.register_blueprint(bp)
