"""Secret values never reach a log line or an Event: every value this process decrypted or received
is remembered (`remember`) and replaced by `[secret]` in every log record (a LogRecord factory, so
every logger and handler is covered, RQ's included) and in every Event row written (the Core
executemany of app.infra.queue and ORM inserts alike). Stage Run logs and errors are redacted by
the stage type with the values it used (`redact`)."""
from __future__ import annotations

import logging
import threading
import traceback

from sqlalchemy import event

from app.models import Event

MASK = "[secret]"
MIN_LENGTH = 4          # shorter values are refused by the store: redacting them would mangle logs
_values: set[str] = set()
_lock = threading.Lock()
_installed: dict = {}


def remember(*values: str) -> None:
    with _lock:
        _values.update(v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH)


def known() -> frozenset:
    return frozenset(_values)


def redact(obj, values=None):
    """`obj` (a string, or JSON-like data) with every secret value masked."""
    secrets = sorted(values if values is not None else _values, key=len, reverse=True)
    if not secrets:
        return obj
    if isinstance(obj, str):
        for value in secrets:
            if value in obj:
                obj = obj.replace(value, MASK)
        return obj
    if isinstance(obj, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact(v, secrets) for v in obj)
    return obj


def contains_secret(obj, values) -> bool:
    return redact(obj, values) != obj


def _record_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        if _values:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, ()
            if record.exc_info and not record.exc_text:
                text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
                record.exc_text = redact(text)
        return record
    return factory


def _redact_orm_event(mapper, connection, target) -> None:
    if _values and target.data:
        target.data = redact(target.data)


def install() -> None:
    """Once per process: the log record factory and the Event insert hook."""
    with _lock:
        if _installed:
            return
        _installed["factory"] = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_factory(_installed["factory"]))
        event.listen(Event, "before_insert", _redact_orm_event)
