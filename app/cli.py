"""`flask procly ...` commands: demo data, users, workers."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click
from flask import current_app
from flask.cli import AppGroup

from app.vocab.refs import ROLE_NAMES
from app.demo import PASSWORD, load_demo
from app.auth.passwords import hash_password, password_problem, set_password
from app.extensions import db
from app.models import User
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from app.runtime.worker import run_workers
from app.notifications.jobs import deliver_due
from app.metrics import rollup
from app.infra import secretbox
from app.vault.operations import rotate_key
from app.conversations import mail_in
from app.files import operations as files
from app.errors import APIError
from app.processes import transfer
from app.ops import checks
from app import config

procly = AppGroup("procly", help="Procly administration.")


@procly.command("demo")
@click.option("--tasks", default=120, show_default=True, help="how many demo Tasks to start")
def demo_command(tasks: int) -> None:
    """Load the client-intake example (idempotent) and print the demo logins."""

    logins = load_demo(tasks=tasks)
    click.echo(f"Demo logins (password for all: {PASSWORD}):")
    for email, role in logins:
        click.echo(f"  {role:<9} {email}")


@procly.command("create-user")
@click.argument("email")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLE_NAMES), default="staff")
@click.password_option()
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a user (the password policy applies: 12+ characters, not a common password)."""

    _refuse_weak(password_problem(password))
    db.session.add(User(email=email.lower(), name=name, role=role, password_hash=hash_password(password)))
    db.session.commit()
    click.echo(f"created {role} {email}")


@procly.command("set-password")
@click.argument("email")
@click.password_option()
def set_password_command(email: str, password: str) -> None:
    """Set a user's password; every session they have open ends."""

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        raise click.ClickException(f"No user {email}.")
    _refuse_weak(password_problem(password))
    set_password(user, password)
    db.session.commit()
    click.echo(f"password set for {email}; their sessions were ended")


def _refuse_weak(problem: str | None) -> None:
    if problem:
        raise click.ClickException(f"password refused: {problem}")


@procly.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
@click.option("--count", default=1, show_default=True, help="worker processes to start")
def worker_command(burst: bool, count: int) -> None:
    """Run N supervised worker processes plus the scheduler (delayed jobs, periodic work)."""

    raise SystemExit(run_workers(current_app._get_current_object(), burst=burst, count=count))


@procly.command("outbox")
@click.option("--limit", default=100, show_default=True, help="at most this many deliveries")
def outbox_command(limit: int) -> None:
    """Send due outbox deliveries (email and alert webhooks) now."""

    result = deliver_due(limit=limit)
    click.echo(f"sent {result['sent']}, failed {result['failed']}")


@procly.command("rollup")
@click.option("--days", type=int, default=None, help="rebuild the last N days (default: incremental refresh)")
@click.option("--all", "everything", is_flag=True, help="rebuild the whole history")
def rollup_command(days: int | None, everything: bool) -> None:
    """Bring the dashboard metric rollups up to date (app.metrics.rollup)."""

    result = rollup.rebuild() if everything else (
        rollup.rebuild(since=rollup.clock.now() - rollup.timedelta(days=days)) if days else rollup.refresh())
    click.echo(result)


@procly.command("rotate-secrets-key")
@click.option("--new-key", envvar="PROCLY_SECRETS_KEY_NEW", default=None,
              help="the new Fernet key (default: one is generated and printed)")
def rotate_secrets_key(new_key: str | None) -> None:
    """Re-encrypt every secret under a new key, in one transaction. Then set PROCLY_SECRETS_KEY to the
    new key (in development the instance folder's key file is replaced) and restart web and workers."""

    old = current_app.config["SECRETS_KEY"]
    new_key = new_key or secretbox.new_key()
    try:
        secretbox.fernet(new_key)
    except ValueError as exc:
        raise click.ClickException(f"not a Fernet key: {exc}") from None
    try:
        count = rotate_key(old, new_key)
        db.session.commit()
    except secretbox.InvalidToken:
        db.session.rollback()
        raise click.ClickException("a secret cannot be decrypted with the current key; nothing was changed") from None
    dev_file = Path(current_app.config["PROCLY_INSTANCE"]) / "secrets_key"
    if not os.environ.get("PROCLY_SECRETS_KEY") and dev_file.exists():
        dev_file.write_text(new_key)
        click.echo(f"re-encrypted {count} secret(s); the development key in {dev_file} was replaced")
    else:
        click.echo(f"re-encrypted {count} secret(s). Set PROCLY_SECRETS_KEY={new_key} (or "
                   f"\"{new_key},<old key>\" while processes restart) and restart web and workers.")


@procly.command("mail-in")
@click.option("--smtp", "smtp", metavar="HOST:PORT", default=None,
              help="receive replies over SMTP here (the MX or a forward for PROCLY_MAIL_DOMAIN)")
@click.option("--imap", is_flag=True, help="poll the IMAP mailbox IMAP_HOST every MAIL_IN_INTERVAL seconds")
def mail_in_command(smtp: str | None, imap: bool) -> None:
    """Receive replies to email conversations (SMTP receiver and/or IMAP poller) until stopped."""

    try:
        mail_in.run(current_app._get_current_object(), smtp=smtp, imap=imap)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@procly.command("purge-files")
@click.option("--task", "task_id", type=int, help="purge the files of this one Task")
@click.option("--finished-days", type=click.IntRange(min=0), help="purge the files of Tasks finished this many days ago")
def purge_files_command(task_id: int | None, finished_days: int | None) -> None:
    """Delete stored files' bytes (the records stay, marked purged; downloads answer 410)."""
    if (task_id is None) == (finished_days is None):
        raise click.UsageError("give --task or --finished-days")
    if task_id is not None:
        n = files.purge_task_files(task_id, "system:cli")
        db.session.commit()
        click.echo(f"purged {n} file(s) of Task {task_id}")
        return
    tasks, n = files.purge_finished(finished_days, "system:cli")
    db.session.commit()
    click.echo(f"purged {n} file(s) of {tasks} Task(s) finished {finished_days}+ days ago")


@procly.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--process", "keys", multiple=True, help="only this Process (repeat for several; default: all)")
@click.option("--tasks", "with_tasks", is_flag=True, help="also the Tasks now in them, with their history")
def export_command(path: str, keys: tuple[str, ...], with_tasks: bool) -> None:
    """Write Processes (every Version, the draft, the Table) and optionally their Tasks to a JSON file."""
    try:
        doc = transfer.export_bundle(list(keys) or None, with_tasks=with_tasks)
    except APIError as exc:
        raise click.ClickException(exc.message) from None
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    n_tasks = len((doc.get("tasks") or {}).get("tasks", []))
    click.echo(f"exported {len(doc['processes'])} process(es)" + (f" and {n_tasks} task(s)" if with_tasks else "")
               + f" to {path}")


@procly.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-tasks", is_flag=True, help="import the Processes only, even if the file has Tasks")
def import_command(path: str, no_tasks: bool) -> None:
    """Create the Processes (and their Tasks) of an export file; all or nothing."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path} is not a JSON file: {exc}") from None
    try:
        summary = transfer.import_bundle(doc, with_tasks=not no_tasks)
        db.session.commit()
    except APIError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} Nothing was imported.") from None
    teams = f"; created team(s) {', '.join(summary['teams_created'])}" if summary["teams_created"] else ""
    click.echo(f"imported {len(summary['processes'])} process(es) ({', '.join(summary['processes'])}) and "
               f"{summary['tasks']} task(s){teams}")


def _describe(cfg) -> list[tuple[str, str]]:
    """The settings an operator checks, secrets shown only as set / not set."""
    db_url = make_url(cfg["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    smtp = (f"{cfg['SMTP_HOST']}:{cfg['SMTP_PORT']} tls={cfg['SMTP_TLS']} "
            f"auth={'yes' if cfg['SMTP_USERNAME'] else 'no'}") if cfg["SMTP_HOST"] else "not set (email is not sent)"
    return [("environment", cfg["PROCLY_ENV"]), ("database", db_url),
            ("redis", _hide_password(cfg["REDIS_URL"])),
            ("base URL", cfg["PROCLY_BASE_URL"]), ("trusted proxies", str(cfg["PROXY_COUNT"])),
            ("SECRET_KEY", "set" if os.environ.get("SECRET_KEY") else "development key from the instance folder"),
            ("PROCLY_SECRETS_KEY", "set" if os.environ.get("PROCLY_SECRETS_KEY") else
             "development key from the instance folder"),
            ("SMTP", smtp), ("files", cfg["FILES_STORAGE"]),
            ("metrics", "token set" if cfg["METRICS_TOKEN"] else "no token (/metrics answers 404)"),
            ("live updates", "off (PROCLY_REALTIME_DISABLED)" if cfg["REALTIME_DISABLED"] else "on")]


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1))
    return urlunsplit(parts)


@procly.command("check")
def check_command() -> None:
    """Validate the configuration and reach the database, Redis and the workers; print what was found.
    Exits 1 if anything is wrong."""
    cfg = current_app.config
    for name, value in _describe(cfg):
        click.echo(f"  {name:<20} {value}")
    problems = config.production_problems() if config.production() else []
    if cfg["SMTP_TLS"] not in ("none", "starttls", "ssl"):
        problems.append(f"SMTP_TLS must be none, starttls or ssl (it is {cfg['SMTP_TLS']})")
    for name, check in checks.CHECKS.items():
        ok, detail = check()
        click.echo(f"  {name + ' check':<20} {'ok' if ok else 'FAILED'}: {detail}")
        if not ok:
            problems.append(f"{name}: {detail}")
    if problems:
        click.echo("Problems:\n  - " + "\n  - ".join(problems), err=True)
        raise SystemExit(1)
    click.echo("All checks passed.")


def init_app(app) -> None:
    app.cli.add_command(procly)
