"""Creating, replacing, deleting and listing secrets. Each asks app.permissions (designers and
admins of the owning Team), flushes, and records an Event that names the secret, never its value."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.errors import Conflict, NotFound
from app.extensions import db
from app.infra import secretbox
from app.models import Event, Secret, Team
from app.permissions import allowed, check, is_admin


def _team(name: str) -> Team:
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f'No team "{name}".', {"team": ["unknown team"]})
    return team


def list_secrets(user, team: str | None = None) -> list[Secret]:
    q = select(Secret).join(Team).order_by(Team.name, Secret.name)
    if team is not None:
        q = q.where(Team.id == _team(team).id)
    if not is_admin(user):
        q = q.where(Secret.team_id.in_(user.team_ids or {-1}))
    return [s for s in db.session.scalars(q) if allowed(user, "secret.manage", s.team)]


def get_secret(user, secret_id: int) -> Secret:
    secret = db.session.get(Secret, secret_id)
    if secret is None:
        raise NotFound(f"No secret {secret_id}.")
    check(user, "secret.manage", secret.team)
    return secret


def _event(type_: str, secret: Secret, actor: str) -> None:
    db.session.add(Event(type=type_, actor=actor, data={"team": secret.team.name, "secret": secret.name}))


def create_secret(user, data: dict, actor: str) -> Secret:
    team = _team(data["team"])
    check(user, "secret.manage", team)
    taken = db.session.scalar(select(Secret.id).where(Secret.team_id == team.id, Secret.name == data["name"]))
    if taken is not None:
        raise Conflict(f'Team "{team.name}" already has a secret named {data["name"]}: replace its value instead.',
                       {"name": ["already taken in this team"]})
    secret = Secret(team=team, name=data["name"], description=data.get("description") or "",
                    ciphertext=secretbox.encrypt(data["value"]), created_by=actor, updated_by=actor)
    db.session.add(secret)
    db.session.flush()
    _event("secret.created", secret, actor)
    return secret


def replace_secret(user, secret_id: int, data: dict, actor: str) -> Secret:
    secret = get_secret(user, secret_id)
    secret.ciphertext = secretbox.encrypt(data["value"])
    if "description" in data:
        secret.description = data["description"]
    secret.updated_by, secret.updated_at = actor, clock.now()
    _event("secret.replaced", secret, actor)
    return secret


def delete_secret(user, secret_id: int, actor: str) -> None:
    secret = get_secret(user, secret_id)
    _event("secret.deleted", secret, actor)
    db.session.delete(secret)


def rotate_key(old_keys: str, new_key: str) -> int:
    """Re-encrypt every secret under `new_key` (readable with `old_keys` now). Returns the count."""
    keys = ",".join([new_key, old_keys])
    rows = list(db.session.scalars(select(Secret)))
    for secret in rows:
        secret.ciphertext = secretbox.rotate(secret.ciphertext, keys)
    db.session.add(Event(type="secret.key_rotated", actor="system", data={"secrets": len(rows)}))
    return len(rows)
