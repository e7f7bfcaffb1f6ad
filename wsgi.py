"""WSGI entry point: `gunicorn -w 1 --threads 50 wsgi:app`, `flask --app wsgi ...`."""
from app.factory import create_app
from app.extensions import socketio  # noqa: F401  (re-exported for app.serve)

app = create_app()
