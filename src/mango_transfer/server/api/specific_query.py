"""Specific queries (722): the named SQL statements a zone registers for its clients.

The iCommands ask for one: ``ShowCollAcls`` (``ils -A`` on a collection), the users, zones,
access names and user types of a collection's ACL, as in the statement iRODS installs.  Its
columns come back with attribute index 0, as the real server sends them.  Any other alias is
unknown to this zone, as it would be to a real one without it: CAT_UNKNOWN_SPECIFIC_QUERY.
"""

from __future__ import annotations

from ..codes import CAT_NO_ROWS_FOUND, IrodsError
from ..state import ConnectionState, ServerState
from ..wire import Message
from ..xmlpack import Struct
from .base import Reply, api, body

CAT_UNKNOWN_SPECIFIC_QUERY = -853000
RESULT_LENGTH = 50

_SHOW_COLL_ACLS = (
    "SELECT DISTINCT u.user_name, u.zone_name, n.name, u.user_type FROM colls c "
    "JOIN access a ON a.object_id = c.coll_id JOIN users u ON u.user_id = a.user_id "
    "JOIN access_names n ON n.code = a.access_type_id WHERE c.coll_name = ?"
)


def _output(rows: list[tuple[object, ...]], width: int) -> bytes:
    columns = [Struct("SqlResult_PI", [("attriInx", 0), ("reslen", RESULT_LENGTH),
                                       *[("value", str(row[i])) for row in rows]])
               for i in range(width)]
    return Struct("GenQueryOut_PI", [
        ("rowCnt", len(rows)), ("attriCnt", width), ("continueInx", 0), ("totalRowCount", 0),
        *[("SqlResult_PI", column) for column in columns]]).encode()


@api(722)
async def specific_query(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    request = body(message)
    alias = request.get_str("sql")
    if alias != "ShowCollAcls":
        raise IrodsError(CAT_UNKNOWN_SPECIFIC_QUERY, f"unknown specific query {alias!r}")
    rows = server.catalog.db.execute(_SHOW_COLL_ACLS, (request.get_str("arg1"),)).fetchall()
    if not rows:
        raise IrodsError(CAT_NO_ROWS_FOUND, "no rows")
    return Reply(body=_output([tuple(row) for row in rows], 4))
