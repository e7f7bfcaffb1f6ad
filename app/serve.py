"""Development server for the quick start (`python -m app.serve`, run by scripts/run).

Serves HTTP and Socket.IO on HOST:PORT (default 127.0.0.1:5000) with Werkzeug.
Production uses `gunicorn -c gunicorn.conf.py wsgi:app` instead (docs/deploy.md).
"""
from __future__ import annotations

import os

from app.extensions import socketio
from app.factory import create_app


def main() -> None:
    app = create_app()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
