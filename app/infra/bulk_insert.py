"""Writing thousands of rows of one table at once: COPY on PostgreSQL, a multi-row INSERT elsewhere.

A multi-row `INSERT … VALUES (…), (…)` with 20,000 parameters costs psycopg more to prepare (its
placeholder conversion is cached only for statements of at most 50 parameters) than PostgreSQL
takes to run it; COPY sends the rows as data. Ids are taken from the table's sequence first
(`nextval` once per row, in one query), so the caller knows every row's id without RETURNING."""
from __future__ import annotations

from enum import Enum

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, String, Table, insert, text

COPY_MIN = 50    # below this a plain executemany is as cheap


def _jsonb(v):
    return None if v is None else Jsonb(v)


def _plain(v):
    return v.value if isinstance(v, Enum) else v


def _copy(conn: Connection, table: Table, rows: list[dict]) -> None:
    cols = list(rows[0])
    # per column, how a value goes to COPY: JSON wrapped, a text one as is or a vocabulary StrEnum's
    # value (psycopg would dump an Enum by its name), any other as is
    convert = [_jsonb if isinstance(table.c[c].type, JSON) else _plain if isinstance(table.c[c].type, String) else None
               for c in cols]
    pairs = list(zip(cols, convert))
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in cols)}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[c] if f is None else f(row[c]) for c, f in pairs])


def insert_rows(conn: Connection, table: Table, rows: list[dict], *, ids: bool = False) -> list[int] | None:
    """INSERT `rows` (dicts with the same keys) into `table` in the connection's transaction; with
    `ids`, their new primary keys in the order of `rows`."""
    if not rows:
        return [] if ids else None
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN:
        new_ids = None
        if ids:
            new_ids = list(conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                             "FROM generate_series(1, :n)"), {"t": table.name, "n": len(rows)})
                           .scalars())
            rows = [{**row, "id": i} for row, i in zip(rows, new_ids)]
        _copy(conn, table, rows)
        return new_ids
    if ids:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(conn.execute(stmt, rows).scalars())
    conn.execute(insert(table), rows)   # executemany (insertmanyvalues)
    return None
