"""Email conversations (the `email_conversation` stage type's service): sending through the outbox
with signed reply addresses (`tokens`, `operations`), and replies coming back through one pipeline
(`incoming`, over the one parser `parse` and `quotes`) from the SMTP receiver (`smtp_in`) or the
IMAP poller (`imap_in`) of `flask procly mail-in`. See docs/stage-types.md and docs/operations.md."""
from __future__ import annotations

from app.conversations import operations
from app.stages.email import SERVICE


def init_app(app) -> None:
    """Hand the service to the stage type (app.stages.email sits below it and asks for it by name)."""
    app.extensions[SERVICE] = operations
