"""Files uploaded into `file` Fields (the File upload stage type). The bytes live in the storage
(app.files.storage) under `storage_key`, a random id; the row keeps who, where and what."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db


class StoredFile(db.Model):
    __tablename__ = "stored_files"
    __table_args__ = (
        Index("ix_stored_files_task", "task_id", "id"),
        Index("ix_stored_files_run_field", "stage_run_id", "field_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    stage_run_id: Mapped[int | None] = mapped_column(ForeignKey("stage_runs.id"))
    field_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))                 # sanitised; shown, never a path
    content_type: Mapped[str] = mapped_column(String(128))         # detected from the content
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)   # random; never the user's name
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    review_status: Mapped[str | None] = mapped_column(String(16))  # pending / accepted / rejected; None = no review
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    removed_at: Mapped[datetime | None]                            # withdrawn before the Stage completed
    purged_at: Mapped[datetime | None]                             # bytes deleted (retention, Task purge)

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    @property
    def purged(self) -> bool:
        return self.purged_at is not None

    @property
    def live(self) -> bool:
        return self.removed_at is None and self.purged_at is None

    def ref(self) -> dict:
        """The file's reference as a `file` Field value holds it (a list of these)."""
        return {"id": self.id, "name": self.name, "content_type": self.content_type, "size": self.size}
