"""The managers' dashboards (/dashboards): charts over /api/v1/metrics, live over Socket.IO."""
from app.dashboards.routes import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
