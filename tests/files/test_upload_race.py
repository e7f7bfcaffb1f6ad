"""Two uploads racing for the last place of a File upload Stage: both pass the first count (the
test holds each one after it, with a barrier, before its bytes are read), and exactly one is
kept — the other is refused with 409 and leaves no bytes in storage. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.errors import APIError
from app.files import operations, storage
from app.models.files import StoredFile
from tests.files.conftest import PDF, upload_stage
from tests.runtime_io.conftest import st


def test_two_uploads_for_the_last_place_keep_exactly_one(app, fw):
    fw.process("one", [upload_stage(config={"max_count": 1, "min_count": 0, "kinds": ["pdf"]}), st("after")])
    task_id = fw.start("one", {"name": "Jo"})
    run_id = fw.run(task_id, "upload").id
    fw.db.session.remove()
    with app.app_context():
        root = getattr(storage.current(), "root", None)
        before = {p for p in root.rglob("*") if p.is_file()} if root is not None else set()
    both_counted = threading.Barrier(2, timeout=60)
    outcomes: list = []

    def one(n: int) -> None:
        sent = []

        def read(size: int) -> bytes:
            if not sent:            # called only after the count check passed
                both_counted.wait()
                sent.append(1)
                return PDF
            return b""

        with app.app_context():
            try:
                f = operations.upload(run_id, None, read, filename=f"p{n}.pdf", content_length=None, actor="system")
                fw.db.session.commit()
                outcomes.append(("kept", f.storage_key))
            except APIError as exc:
                fw.db.session.rollback()
                outcomes.append((exc.status, exc.message))
            finally:
                fw.db.session.remove()

    threads = [threading.Thread(target=one, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(o[0] for o in outcomes if o[0] != "kept") == [409], outcomes
    assert "at most 1 files" in next(o[1] for o in outcomes if o[0] == 409)
    with app.app_context():
        keys = fw.db.session.scalars(select(StoredFile.storage_key).where(StoredFile.stage_run_id == run_id)).all()
        assert len(keys) == 1 and keys[0] == next(o[1] for o in outcomes if o[0] == "kept")
        assert fw.db.session.scalar(select(func.count()).select_from(StoredFile)) == 1
        if root is not None:                 # local storage: the refused upload's bytes are gone too
            stored = [p for p in root.rglob("*") if p.is_file() and p not in before]
            assert [p.name for p in stored] == keys, stored
