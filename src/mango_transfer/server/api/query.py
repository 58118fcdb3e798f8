"""GenQuery 1 (702) with server-side cursors for paging.

A continuation handle belongs to the connection that opened it: a real agent dies when PRC sends
a continuation to a different pooled connection, so we drop the connection too rather than be
lenient (the engine must page on one connection). Closing a query (``maxRows`` 0) with a handle
this connection does not hold is harmless there, and here.
"""

from __future__ import annotations

import sqlite3

from ..codes import CAT_NO_ROWS_FOUND, CAT_SQL_ERR, IrodsError, ProtocolViolation
from ..genquery import RETURN_TOTAL_ROW_COUNT, Query, build_sql
from ..state import ConnectionState, Cursor, ServerState
from ..wire import Message
from ..xmlpack import Element, Struct
from .base import Reply, api, body, user_of


def _pairs(element: Element | None, key_tag: str, value_tag: str) -> list[tuple[int, str]]:
    if element is None:
        return []
    keys = [int(child.text) for child in element.find_all("inx")]
    values = [child.text for child in element.find_all(value_tag)]
    return list(zip(keys, values, strict=False))


def parse_query(element: Element) -> Query:
    selects = [(c, int(v)) for c, v in _pairs(element.find("InxIvalPair_PI"), "inx", "ivalue")]
    conditions = _pairs(element.find("InxValPair_PI"), "inx", "svalue")
    return Query(selects=selects, conditions=conditions, options=element.get_int("options"),
                 offset=element.get_int("partialStartIndex"))


def _output(columns: list[int], rows: list[tuple[object, ...]], continue_inx: int, total: int,
            evil_name: str | None = None) -> bytes:
    if evil_name is not None and 403 in columns:
        at = columns.index(403)
        rows = [(*row[:at], evil_name, *row[at + 1:]) if str(row[at]).startswith("evil") else row
                for row in rows]
    results = []
    for index, column in enumerate(columns):
        values = ["" if row[index] is None else _text(row[index]) for row in rows]
        results.append(("SqlResult_PI", Struct("SqlResult_PI", [
            ("attriInx", column), ("reslen", 2700), *[("value", v) for v in values]])))
    return Struct("GenQueryOut_PI", [
        ("rowCnt", len(rows)), ("attriCnt", len(columns)), ("continueInx", continue_inx),
        ("totalRowCount", total), *results]).encode()


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _empty() -> bytes:
    return Struct("GenQueryOut_PI", [("rowCnt", 0), ("attriCnt", 0), ("continueInx", 0),
                                     ("totalRowCount", 0)]).encode()


@api(702)
async def gen_query(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    user = user_of(connection)
    element = body(message)
    max_rows = element.get_int("maxRows")
    continue_inx = element.get_int("continueInx")
    if continue_inx:
        return _continue(server, connection, continue_inx, max_rows)
    query = parse_query(element)
    sql, params = build_sql(query, user, server.catalog.public_group_id())
    if max_rows <= 0:
        return Reply(body=_empty())
    total = 0
    if query.options & RETURN_TOTAL_ROW_COUNT:
        total = server.catalog.db.execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()[0]
    offset = max(0, query.offset)
    columns = [column for column, _ in query.selects]
    try:
        # Most queries fit in one page: answer them from the main connection and leave no
        # statement open.  Only a longer result gets a reader connection holding its cursor.
        first = server.catalog.db.execute(f"{sql} LIMIT {max_rows + 1} OFFSET {offset}",
                                          params).fetchall()
        if not first:
            raise IrodsError(CAT_NO_ROWS_FOUND, "no rows")
        if len(first) < max_rows:
            return Reply(body=_output(columns, first, 0, total, server.faults.evil_name))
        cursor = None
        if len(first) > max_rows:
            cursor = _open_cursor(server, f"{sql} LIMIT -1 OFFSET {offset + max_rows}", params)
    except sqlite3.Error as exc:
        raise IrodsError(CAT_SQL_ERR, str(exc)) from exc
    # As iRODS does, a full page always carries a continuation, even with nothing behind it.
    handle = server.next_cursor
    server.next_cursor += 1
    connection.cursors[handle] = Cursor(cursor=cursor, columns=columns)
    return Reply(body=_output(columns, first[:max_rows], handle, total, server.faults.evil_name))


def _open_cursor(server: ServerState, sql: str, params: list[object]) -> sqlite3.Cursor:
    reader = sqlite3.connect(server.catalog.path, check_same_thread=False)
    reader.execute("PRAGMA case_sensitive_like=ON")
    return reader.execute(sql, params)


def _continue(server: ServerState, connection: ConnectionState, handle: int, max_rows: int) -> Reply:
    if max_rows <= 0:
        # Closing: iRODS frees the statement if this agent has it and answers success either
        # way, so PRC's first(), whose close may go out on another pooled connection, works.
        _close(connection, handle)
        return Reply(body=_empty())
    state = connection.cursors.get(handle)
    if state is None:
        raise ProtocolViolation(f"continuation {handle} does not belong to this connection")
    rows = state.cursor.fetchmany(max_rows) if state.cursor is not None else []
    if not rows:
        _close(connection, handle)
        raise IrodsError(CAT_NO_ROWS_FOUND, "no rows")
    if len(rows) < max_rows:
        _close(connection, handle)
        handle = 0
    return Reply(body=_output(state.columns, rows, handle, 0, server.faults.evil_name))


def _close(connection: ConnectionState, handle: int) -> None:
    state = connection.cursors.pop(handle, None)
    if state is not None and state.cursor is not None:
        state.cursor.connection.close()


def close_all(connection: ConnectionState) -> None:
    for handle in list(connection.cursors):
        _close(connection, handle)
