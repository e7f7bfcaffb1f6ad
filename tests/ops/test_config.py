"""PROCLY_ENV=production refuses to start without its settings, with one message listing all of them
(the WSGI entry, the CLI and gunicorn alike); `flask procly check` prints what it finds."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app import config
from app.infra import telemetry
from app.infra.redis import connection
from tests.processes import ROOT, TEST_SECRETS_KEY

FLASK = str(Path(sys.executable).with_name("flask"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
SETTINGS = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PROCLY_BASE_URL", "PROCLY_SECRETS_KEY")


def _clean_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith("PROCLY_")}
    return {**env, "PROCLY_INSTANCE": str(tmp_path / "instance"), **extra}


def test_production_problems_are_listed_all_at_once():
    assert len(config.production_problems({})) == 5
    good = {"SECRET_KEY": "k" * 40, "DATABASE_URL": "postgresql+psycopg://u@db/procly", "REDIS_URL": "redis://r:6379/0",
            "PROCLY_BASE_URL": "https://procly.example", "PROCLY_SECRETS_KEY": TEST_SECRETS_KEY}
    assert config.production_problems(good) == []
    sqlite = config.production_problems({**good, "DATABASE_URL": "sqlite:///x.db"})
    assert len(sqlite) == 1 and "PostgreSQL" in sqlite[0]
    http = config.production_problems({**good, "PROCLY_BASE_URL": "http://procly.example"})
    assert len(http) == 1 and "https" in http[0]
    assert "SMTP_TLS" in config.production_problems({**good, "SMTP_TLS": "maybe"})[0]


def test_a_production_start_without_settings_exits_with_the_list(tmp_path):
    env = _clean_env(tmp_path, PROCLY_ENV="production", DATABASE_URL="sqlite:///x.db",
                     PROCLY_BASE_URL="http://127.0.0.1:5000")
    out = subprocess.run([FLASK, "--app", "wsgi", "procly", "check"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 78, out.stderr
    for needle in ("SECRET_KEY is not set", "PostgreSQL", "REDIS_URL is not set", "must be https",
                   "PROCLY_SECRETS_KEY is not set"):
        assert needle in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()    # no per-host random key written
    assert not (tmp_path / "instance" / "redis").exists()         # no embedded Redis started

    gunicorn = subprocess.run([GUNICORN, "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0", "wsgi:app"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert gunicorn.returncode != 0 and "REDIS_URL is not set" in gunicorn.stderr, gunicorn.stderr


def test_check_prints_what_it_finds(app, tmp_path):
    env = _clean_env(tmp_path, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
                     SECRET_KEY="x" * 40, PROCLY_SECRETS_KEY=TEST_SECRETS_KEY, SMTP_HOST="smtp.example",
                     SMTP_PORT="587", SMTP_TLS="starttls", SMTP_USERNAME="procly", SMTP_PASSWORD="smtp-pass-983")
    out = subprocess.run([FLASK, "--app", "wsgi", "procly", "check"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr          # no worker yet
    assert "database check       ok" in out.stdout and "redis check          ok" in out.stdout, out.stdout
    assert "worker check         FAILED" in out.stdout and "smtp.example:587 tls=starttls auth=yes" in out.stdout
    assert "smtp-pass-983" not in out.stdout + out.stderr
    telemetry.heartbeat(connection())
    out = subprocess.run([FLASK, "--app", "wsgi", "procly", "check"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0 and "All checks passed." in out.stdout, out.stdout + out.stderr
