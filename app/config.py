"""Configuration read from environment variables (12-factor); tests pass overrides."""
from __future__ import annotations

import json
import base64
import os
from pathlib import Path
import secrets

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration cannot run: the message lists every problem at once."""


def production() -> bool:
    return os.environ.get("PROCLY_ENV", "development").strip().lower() == "production"


def production_problems(env=None) -> list[str]:
    """What a production start (PROCLY_ENV=production) lacks: every problem, not just the first."""
    env = os.environ if env is None else env
    problems = []
    if not env.get("SECRET_KEY"):
        problems.append("SECRET_KEY is not set (a long random value, the same on every web and worker process)")
    url = env.get("DATABASE_URL", "")
    if not url:
        problems.append("DATABASE_URL is not set (postgresql+psycopg://user:password@host/procly)")
    elif url.startswith("sqlite"):
        problems.append("DATABASE_URL is SQLite; production needs PostgreSQL (postgresql+psycopg://...)")
    if not env.get("REDIS_URL"):
        problems.append("REDIS_URL is not set (redis://host:6379/0); the embedded Redis is for development only")
    base = env.get("PROCLY_BASE_URL", "")
    if not base:
        problems.append("PROCLY_BASE_URL is not set (the public https:// address, used in links and emails)")
    elif not base.lower().startswith("https://"):
        problems.append(f"PROCLY_BASE_URL must be https:// in production (it is {base})")
    if not env.get("PROCLY_SECRETS_KEY"):
        problems.append("PROCLY_SECRETS_KEY is not set (a Fernet key: python -c 'from cryptography.fernet "
                        "import Fernet; print(Fernet.generate_key().decode())')")
    if env.get("SMTP_TLS", "none") not in ("none", "starttls", "ssl"):
        problems.append(f"SMTP_TLS must be none, starttls or ssl (it is {env.get('SMTP_TLS')})")
    return problems


def check_production() -> None:
    """Refuse to start in production with a configuration that would silently fall back to
    development defaults (per-host random keys, SQLite, an embedded Redis, 127.0.0.1 in links)."""
    if production():
        problems = production_problems()
        if problems:
            raise ConfigError("Procly refuses to start with PROCLY_ENV=production:\n  - " + "\n  - ".join(problems))


def engine_options(url: str) -> dict:
    """The connection pool. PostgreSQL: as many pooled connections as the web process has threads that
    may use one at once (PROCLY_DB_POOL_SIZE, default 20, + PROCLY_DB_MAX_OVERFLOW, default 30, for the
    50 threads): with SQLAlchemy's default (5 + 10) a 6th concurrent request opened a connection of its
    own and closed it afterwards, and a 16th waited for one."""
    options = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        options.update(pool_size=int(os.environ.get("PROCLY_DB_POOL_SIZE", "20")),
                       max_overflow=int(os.environ.get("PROCLY_DB_MAX_OVERFLOW", "30")))
    return options


def from_env() -> dict:
    check_production()
    instance = Path(os.environ.get("PROCLY_INSTANCE", ROOT / "instance"))
    return {
        "PROCLY_ENV": "production" if production() else "development",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _dev_secret(instance),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'procly.db'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(os.environ.get("DATABASE_URL", "")),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "PROCLY_INSTANCE": str(instance),
        "PROCLY_BASE_URL": os.environ.get("PROCLY_BASE_URL", "http://127.0.0.1:5000"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "procly@localhost"),
        # sending: SMTP_TLS none | starttls | ssl; authentication when SMTP_USERNAME is set
        "SMTP_TLS": os.environ.get("SMTP_TLS", "none"),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_CA_FILE": os.environ.get("SMTP_CA_FILE", ""),
        # email conversations: replies go to reply+<token>@PROCLY_MAIL_DOMAIN (app.conversations)
        "PROCLY_MAIL_DOMAIN": os.environ.get("PROCLY_MAIL_DOMAIN", "localhost"),
        "MAIL_REPLY_TOKEN_DAYS": float(os.environ.get("MAIL_REPLY_TOKEN_DAYS", "30")),
        "MAIL_IN_MAX_BYTES": int(os.environ.get("MAIL_IN_MAX_BYTES", str(10 * 1024 * 1024))),
        "MAIL_IN_INTERVAL": float(os.environ.get("MAIL_IN_INTERVAL", "30")),
        "IMAP_HOST": os.environ.get("IMAP_HOST", ""),
        "IMAP_PORT": int(os.environ.get("IMAP_PORT", "0")),
        "IMAP_TLS": os.environ.get("IMAP_TLS", "ssl"),
        "IMAP_USERNAME": os.environ.get("IMAP_USERNAME", ""),
        "IMAP_PASSWORD": os.environ.get("IMAP_PASSWORD", ""),
        "IMAP_MAILBOX": os.environ.get("IMAP_MAILBOX", "INBOX"),
        "IMAP_CA_FILE": os.environ.get("IMAP_CA_FILE", ""),
        # Socket.IO live updates off (no message queue, nothing emitted): for batch tools and benchmarks
        "REALTIME_DISABLED": os.environ.get("PROCLY_REALTIME_DISABLED", "0") == "1",
        # /metrics: a bearer token; without one /metrics answers 404 (PROCLY_METRICS_ADDR serves it apart)
        "METRICS_TOKEN": os.environ.get("PROCLY_METRICS_TOKEN", ""),
        # /readyz: a worker heartbeat older than this (seconds) makes the instance not ready
        "READY_WORKER_MAX_AGE": int(os.environ.get("PROCLY_READY_WORKER_MAX_AGE", "30")),
        # one application log line per request (the development server; gunicorn.conf.py turns it off
        # and writes gunicorn's access log in the same format instead)
        "REQUEST_LOG": os.environ.get("PROCLY_REQUEST_LOG", "1") == "1",
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") == "1",
        # public intake forms (app.portal.intake): the least time a person takes to fill one, in seconds,
        # and which sites may embed them in a frame (a CSP frame-ancestors value; "*" = any)
        "INTAKE_MIN_SECONDS": float(os.environ.get("PROCLY_INTAKE_MIN_SECONDS", "3")),
        "INTAKE_FRAME_ANCESTORS": os.environ.get("PROCLY_INTAKE_FRAME_ANCESTORS", "*"),
        # outside calls (alert webhooks, Webhook / External Service Stages, calendars) may reach private and
        # loopback addresses (app.infra.egress): off by default; never lifts a Stage's allow-list
        "WEBHOOK_ALLOW_PRIVATE": os.environ.get("PROCLY_WEBHOOK_ALLOW_PRIVATE", "0") == "1",
        # AI Prompt stages: the administrator's connections to OpenAI-compatible servers, a JSON object
        # name -> {"base_url", "model", "secret" (the API key's name in the Team's secrets), "label"?,
        # "allow_private"?, "timeout_seconds"?, "response_format"?} (app.stages.ai); and how long one
        # attempt may take, and wait for a 429's Retry-After, at most (app.ai.operations)
        "AI_CONNECTIONS": json.loads(os.environ.get("PROCLY_AI_CONNECTIONS") or "{}"),
        "AI_ATTEMPT_SECONDS": float(os.environ.get("PROCLY_AI_ATTEMPT_SECONDS", "300")),
        "AI_MAX_RETRY_AFTER": float(os.environ.get("PROCLY_AI_MAX_RETRY_AFTER", "30")),
        # Webhook / External Service Stages: the longest time limit of one call a Stage may set (seconds),
        # and the shortest interval at which an External Service may poll a status address
        "HTTP_TIMEOUT_MAX": int(os.environ.get("PROCLY_HTTP_TIMEOUT_MAX", "30")),
        "POLL_MIN_SECONDS": int(os.environ.get("PROCLY_POLL_MIN_SECONDS", "5")),
        # periodic work, in seconds (app.runtime.periodic) and how long workers ride out an outage
        "SWEEP_INTERVAL": int(os.environ.get("PROCLY_SWEEP_INTERVAL", "10")),
        "OUTBOX_INTERVAL": int(os.environ.get("PROCLY_OUTBOX_INTERVAL", "30")),
        "ROLLUP_INTERVAL": int(os.environ.get("PROCLY_ROLLUP_INTERVAL", "60")),
        "PURGE_INTERVAL": int(os.environ.get("PROCLY_PURGE_INTERVAL", "600")),
        "OUTAGE_TOLERANCE": int(os.environ.get("PROCLY_OUTAGE_TOLERANCE", "300")),
        # reverse proxies in front of Procly that set X-Forwarded-For/-Proto: the client address (sign-in
        # throttling, audit) and https detection (HSTS) come from their headers; 0 = none, trust no header
        "PROXY_COUNT": int(os.environ.get("PROCLY_PROXY_COUNT", "0")),
        # CPU time one CEL condition may use before it is stopped (app.cel.evaluate)
        "CEL_BUDGET_MS": float(os.environ.get("PROCLY_CEL_BUDGET_MS", "50")),
        # the secrets store's Fernet key(s), comma-separated while rotating (app/infra/secretbox.py)
        "SECRETS_KEY": os.environ.get("PROCLY_SECRETS_KEY") or _dev_secrets_key(instance),
        # the Code stage's sandbox: what a Stage may ask for at most (app/sandbox/limits.py)
        "CODE_LIMITS_MAX": {name: int(os.environ[f"PROCLY_CODE_MAX_{name.upper()}"]) for name in CODE_LIMIT_NAMES
                            if os.environ.get(f"PROCLY_CODE_MAX_{name.upper()}")},
        # uploaded files (app.files.storage): "local" (FILES_DIR, default <instance>/files) or "s3"
        "FILES_STORAGE": os.environ.get("PROCLY_FILES_STORAGE", "local"),
        "FILES_DIR": os.environ.get("PROCLY_FILES_DIR", ""),
        "S3_BUCKET": os.environ.get("PROCLY_S3_BUCKET", ""),
        "S3_PREFIX": os.environ.get("PROCLY_S3_PREFIX", ""),
        "S3_ENDPOINT_URL": os.environ.get("PROCLY_S3_ENDPOINT_URL", ""),
        "S3_REGION": os.environ.get("PROCLY_S3_REGION", ""),
        "S3_ACCESS_KEY_ID": os.environ.get("PROCLY_S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": os.environ.get("PROCLY_S3_SECRET_ACCESS_KEY", ""),
        # CalDAV sign-ins by name, for Calendar Schedule Stages' busy times (app.scheduling.busy):
        # a JSON object {"name": {"username": "...", "password": "..."}}; definitions only name one
        "CALDAV_CREDENTIALS": json.loads(os.environ.get("PROCLY_CALDAV_CREDENTIALS") or "{}"),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "API_TITLE": "Procly API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
    "WTF_CSRF_CHECK_DEFAULT": False,  # checked in app.auth for cookie-authenticated requests only
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Redis down must not turn a page into a 500: count in memory meanwhile, never raise
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "API_RETRY_AFTER": 5,
    "API_MAX_JSON_DEPTH": 64,        # request bodies nested deeper are a 400 (checked before parsing)
    "FIELD_JSON_MAX_BYTES": 64 * 1024,  # a `json` Field value larger than this is a 422 naming the Field
    "IDEMPOTENCY_TTL_HOURS": 24,     # how long a stored Idempotency-Key response is replayed            # seconds, on a 503 "unavailable" (Redis or the database down)
    "TESTING": False,
}


CODE_LIMIT_NAMES = ("cpu_seconds", "wall_seconds", "memory_mb", "processes", "file_size_mb", "output_kb")


def _dev_secrets_key(instance: Path) -> str:
    """Development only: a Fernet key generated into the instance folder. Production must set
    PROCLY_SECRETS_KEY (PROCLY_ENV=production refuses to start without it)."""
    if os.environ.get("PROCLY_ENV") == "production":
        raise RuntimeError("PROCLY_SECRETS_KEY must be set in production (a Fernet key: "
                           "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')")
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secrets_key"
    if not path.exists():
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def _dev_secret(instance: Path) -> str:
    """A per-install random secret kept in the instance folder, so dev sessions survive restarts."""

    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()
