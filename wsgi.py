"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, `flask --app wsgi ...`.
A configuration that cannot run (PROCLY_ENV=production without its settings) exits with the list."""
import sys

from app.config import ConfigError
from app.extensions import socketio  # noqa: F401  (re-exported for app.serve)
from app.factory import create_app

try:
    app = create_app()
except ConfigError as exc:
    print(exc, file=sys.stderr)
    raise SystemExit(78) from None   # EX_CONFIG
