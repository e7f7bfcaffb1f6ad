"""The AI Prompt stage type's service: chat-completions calls over the egress door (`client`), the
JSON Schema of a Stage's writes and the check of an answer (`output`), the attempt with its retries and
the record of every call (`operations`), and what staff may read of it (`queries`). See
docs/stage-types.md, "AI Prompt"."""
from __future__ import annotations

from app.ai import operations
from app.stages.ai import SERVICE, parse_connections


def init_app(app) -> None:
    """Check the administrator's AI connections (a broken one stops the app from starting, naming it) and
    hand the service to the stage type (app.stages.ai sits below it and asks for it by name)."""
    parse_connections(app.config.get("AI_CONNECTIONS") or {})
    app.extensions[SERVICE] = operations
