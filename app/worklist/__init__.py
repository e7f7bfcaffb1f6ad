"""The staff work surfaces under /queue: My work, the Task page, Table views with CSV, notifications
and alert rules; each Process's board (`board.py` over `board_queries.py`). `routes.py` holds the views, `queries.py` what they read, `operations.py` what only
they change (everything else goes through the runtime and service operations)."""
from app.worklist.board import bp as board_bp
from app.worklist import acting as _acting  # noqa: F401  (the Task page's forms)
from app.worklist import start as _start  # noqa: F401  (adds the start-form routes to the blueprint)
from app.worklist.routes import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(board_bp)
