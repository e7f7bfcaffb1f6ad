"""`flask procly ...` commands: demo data, users, workers."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

procly = AppGroup("procly", help="Procly administration.")


@procly.command("demo")
@click.option("--tasks", default=120, show_default=True, help="how many demo Tasks to start")
def demo_command(tasks: int) -> None:
    """Load the client-intake example (idempotent) and print the demo logins."""
    from app.demo import load_demo

    logins = load_demo(tasks=tasks)
    click.echo("Demo logins (password for all: procly-demo):")
    for email, role in logins:
        click.echo(f"  {role:<9} {email}")


@procly.command("create-user")
@click.argument("email")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "designer", "staff", "manager"]), default="staff")
@click.password_option()
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a user."""
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import User

    db.session.add(User(email=email.lower(), name=name, role=role, password_hash=hash_password(password)))
    db.session.commit()
    click.echo(f"created {role} {email}")


@procly.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
@click.option("--count", default=1, show_default=True, help="worker processes to start")
def worker_command(burst: bool, count: int) -> None:
    """Run non-forking RQ workers (with the scheduler) inside the app context."""
    from app.runtime.worker import run_workers

    run_workers(current_app._get_current_object(), burst=burst, count=count)


def init_app(app) -> None:
    app.cli.add_command(procly)
