"""gunicorn configuration for Procly's web process: `gunicorn -c gunicorn.conf.py wsgi:app`.

One worker process with threads (Flask-SocketIO's threading mode with simple-websocket: WebSockets
need no sticky sessions within one process); scale out with more instances behind the proxy, which
share events through Redis — one instance per core on one machine, since a process runs one thread at
a time (docs/deploy.md, "How many instances"). Settings from the environment (docs/deploy.md):
  PROCLY_BIND (127.0.0.1:8000), PROCLY_THREADS (50), PROCLY_TIMEOUT (120),
  PROCLY_METRICS_ADDR (host:port: serve /metrics there too, without a token; keep it private),
  PROCLY_PREWARM (1: compute the default dashboard views before serving, app.metrics.warm).
Logs: gunicorn's error and access logs go through app.infra.logs, in the app's format (JSON in
production), each access line with the request's id (the X-Request-ID response header)."""
import os
import sys

from gunicorn.glogging import Logger
from prometheus_client import start_http_server

from app.config import ConfigError, check_production
from app.infra import logs
from app.metrics import warm

bind = os.environ.get("PROCLY_BIND", "127.0.0.1:8000")
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("PROCLY_THREADS", "50"))
timeout = int(os.environ.get("PROCLY_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("PROCLY_LOG_LEVEL", "info").lower()
# gunicorn's control socket (`gunicornc`) is one per user by default: several instances on one host would
# share it. Off unless asked for (PROCLY_GUNICORN_CONTROL_SOCKET=path).
control_socket_disable = not os.environ.get("PROCLY_GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["PROCLY_GUNICORN_CONTROL_SOCKET"]
# the access log below replaces the application's own request line
os.environ.setdefault("PROCLY_REQUEST_LOG", "0")


class ProclyLogger(Logger):
    """gunicorn's logs in the application's structured format."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        headers = dict((k.lower(), v) for k, v in (resp.headers or []))
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        self.access_log.info("access", extra={
            "method": environ.get("REQUEST_METHOD"), "path": logs.safe_path(environ.get("PATH_INFO", "")),
            "status": int(status) if str(status).isdigit() else status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None), "remote_addr": environ.get("REMOTE_ADDR"),
            "request_id": headers.get(logs.REQUEST_ID_HEADER.lower()),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:200]})


logger_class = ProclyLogger


def on_starting(server):
    """Refuse to start a production server without its settings (one message listing them all)."""
    try:
        check_production()
    except ConfigError as exc:
        print(exc, file=sys.stderr, flush=True)
        sys.exit(78)


def post_worker_init(worker):
    """Before the worker accepts requests: warm the dashboards (app.metrics.warm; PROCLY_PREWARM=0 skips
    it) and serve /metrics on its own port when asked."""
    if os.environ.get("PROCLY_PREWARM", "1") != "0":
        done = warm.prewarm(worker.wsgi)
        worker.log.info("dashboards pre-warmed: %d views in %d ms", len(done["views"]), done["ms"])
    addr = os.environ.get("PROCLY_METRICS_ADDR", "")
    if addr:
        host, _, port = addr.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=worker.wsgi.extensions["procly_metrics"])
