"""/api/v1/callbacks/<token>: an outside system completes the External Service Stage Run that called it.
A thin view over app.inbound.callbacks: the signed, single-use token in the URL is the only credential."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy.orm.exc import StaleDataError

from app import fields
from app.errors import APIError, Conflict
from app.extensions import db
from app.inbound import callbacks
from app.infra.transaction import own_transaction

blp = Blueprint("callbacks", __name__, description="Callbacks of outside systems to the External Service Stage "
                                                   "Runs waiting on them (signed, single-use, expiring URLs)")


class CallbackResultSchema(Schema):
    run = fields.Integer(metadata={"description": "the Stage Run the callback completed"})
    task = fields.Integer()
    status = fields.String(metadata={"example": "completed"})


@blp.route("/<token>", methods=["POST"], endpoint="callback")
@own_transaction("a callback uses a single-use capability: its refusals are audited even though nothing else "
                 "of the request is kept")
@blp.doc(security=[], requestBody={"required": False, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": True,
    "description": "the outside system's answer: Field values (or what the Stage's results read from it)"}}}},
    responses={"409": {"description": "replayed: the token was already used"},
               "410": {"description": "late: expired, an earlier attempt's, or the run no longer waits"},
               "413": {"description": "the body is over 256 KB"},
               "422": {"description": "the values do not fit the Stage's writes (the token is not used)"},
               "503": {"description": "the run is still sending its request: call again after Retry-After"}})
@blp.response(200, CallbackResultSchema)
def callback(token):
    """Complete the waiting Stage Run with the body's values (checked against the Stage's writes and the
    Fields' types). 401 for a malformed or forged token; every refusal is recorded as an Event."""
    try:
        run = callbacks.receive(token, request.get_data(cache=False))
        db.session.commit()
    except StaleDataError:   # the same callback, twice at once: one of them completed the run
        db.session.rollback()
        raise Conflict("Another change to this Stage Run happened at the same time.", {"token": ["busy"]}) from None
    except APIError as exc:
        db.session.rollback()
        if not isinstance(exc, callbacks.NotWaitingYet):
            callbacks.record_refusal(token, exc, request.remote_addr)
            db.session.commit()
        raise
    return {"run": run.id, "task": run.task_id, "status": run.status}
