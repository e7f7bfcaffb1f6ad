"""Tables and their typed Fields: the spreadsheet a Process works on."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.types import JSONType


class FieldType(StrEnum):
    text = "text"
    number = "number"
    date = "date"
    datetime = "datetime"
    boolean = "boolean"
    choice = "choice"
    email = "email"
    phone = "phone"
    url = "url"
    file = "file"
    json = "json"


class Table(db.Model):
    __tablename__ = "tables"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # the Team whose designers change its Fields (app.permissions "table.edit"); None = admins only
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    team = relationship("Team")

    @property
    def team_name(self) -> str | None:
        return self.team.name if self.team is not None else None

    fields: Mapped[list[Field]] = relationship(
        back_populates="table", order_by="Field.position", cascade="all, delete-orphan"
    )


class Field(db.Model):
    __tablename__ = "fields"
    __table_args__ = (UniqueConstraint("table_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(default=False)
    # type options, e.g. {"choices": ["a", "b"]} for choice Fields
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    table: Mapped[Table] = relationship(back_populates="fields")
