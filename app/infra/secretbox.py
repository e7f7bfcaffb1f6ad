"""Encryption at rest of the secrets store: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`)
with the key(s) in `SECRETS_KEY` (environment `PROCLY_SECRETS_KEY`): one key, or several separated
by commas while rotating — the first encrypts, any of them decrypts (MultiFernet). In development
a key is generated into the instance folder (like SECRET_KEY); `PROCLY_ENV=production` refuses to
start without one (app.config)."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from app.infra.redaction import remember

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "new_key", "rotate"]


def new_key() -> str:
    return Fernet.generate_key().decode()


def fernet(keys: str | None = None) -> MultiFernet:
    raw = keys if keys is not None else current_app.config["SECRETS_KEY"]
    parts = [k.strip() for k in str(raw or "").split(",") if k.strip()]
    if not parts:
        raise RuntimeError("no secrets key: set PROCLY_SECRETS_KEY")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def encrypt(value: str) -> str:
    remember(value)
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str, keys: str | None = None) -> str:
    value = fernet(keys).decrypt(token.encode()).decode()
    remember(value)        # from now on this process masks it in logs and Events
    return value


def rotate(token: str, keys: str) -> str:
    """The token re-encrypted under the first of `keys` (the others may still decrypt it)."""
    return fernet(keys).rotate(token.encode()).decode()
