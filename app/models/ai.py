"""The model calls of AI Prompt Stage Runs: one row per request to a chat-completions endpoint, kept
for the Stage Run's record (prompt and answer, shown to permitted staff) and the dashboards (tokens,
time). The API key is never stored: only the connection's name."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db
from app.models.types import JSONType


class ModelCall(db.Model):
    __tablename__ = "model_calls"
    __table_args__ = (Index("ix_model_calls_run", "stage_run_id", "id"),
                      Index("ix_model_calls_process_created", "process_id", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    stage_key: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(default=1)        # the Stage Run's attempt
    connection: Mapped[str] = mapped_column(String(64))    # the administrator's AI connection, by name
    model: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32))       # ok | invalid_output | http_error | unreachable | timeout | blocked
    http_status: Mapped[int | None]
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    messages: Mapped[list] = mapped_column(JSONType, default=list)   # the prompt as sent (role, content)
    response: Mapped[str] = mapped_column(Text, default="")          # the answer's text, cut at 20,000 characters
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
