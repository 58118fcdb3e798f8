"""GenQuery 1 → SQL over the catalog.

PRC asks for numbered columns with conditions written as SQL-ish strings.  We map each column to
an SQL expression, join only the tables the query touches, apply iRODS' row visibility for
non-admin users (a data object needs read on itself *and* on its collection, as observed on a
live 5.0.2 zone), and order by the caller's ORDER_BY columns and then COLL_NAME and DATA_NAME
when selected, as the real catalog does, so an object's replicas stay adjacent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .catalog import READ, RESOURCE_ID, User
from .codes import CAT_SQL_ERR, IrodsError

UPPER_CASE_WHERE = 0x200
RETURN_TOTAL_ROW_COUNT = 0x20
NO_DISTINCT = 0x40
ORDER_BY = 0x400
ORDER_BY_DESC = 0x800
# iRODS orders by the ORDER_BY columns, then by these when selected (keeps replicas adjacent).
DEFAULT_ORDER = (501, 403)
AGGREGATES = {2: "MIN", 3: "MAX", 4: "SUM", 5: "AVG", 6: "COUNT"}

# column number -> (table group, SQL expression)
COLUMNS: dict[int, tuple[str, str]] = {
    101: ("zone", "z.zone_id"), 102: ("zone", "z.zone_name"), 103: ("zone", "z.zone_type"),
    201: ("user", "u.user_id"), 202: ("user", "u.user_name"), 203: ("user", "u.user_type"),
    204: ("user", "u.zone_name"), 206: ("user", "u.user_info"), 207: ("user", "u.r_comment"),
    208: ("user", "u.create_ts"), 209: ("user", "u.modify_ts"),
    301: ("resc", "r.resc_id"), 302: ("resc", "r.resc_name"), 303: ("resc", "r.zone_name"),
    304: ("resc", "r.resc_type_name"), 305: ("resc", "r.resc_class_name"),
    306: ("resc", "r.resc_net"), 307: ("resc", "r.resc_def_path"), 308: ("resc", "r.free_space"),
    310: ("resc", "r.r_comment"), 311: ("resc", "r.create_ts"), 312: ("resc", "r.modify_ts"),
    313: ("resc", "r.resc_status"), 314: ("resc", "r.free_space_ts"),
    315: ("resc", "r.resc_children"), 316: ("resc", "r.resc_context"),
    317: ("resc", "r.resc_parent"), 318: ("resc", "r.resc_parent_context"),
    401: ("data", "d.data_id"), 402: ("data", "d.coll_id"), 403: ("data", "d.data_name"),
    404: ("data", "0"), 405: ("data", "''"), 406: ("data", "d.data_type_name"),
    407: ("data", "d.data_size"), 409: ("data", "'demoResc'"), 410: ("data", "d.data_path"),
    411: ("data", "d.data_owner_name"), 412: ("data", "d.data_owner_zone"),
    413: ("data", "d.data_is_dirty"), 414: ("data", "''"), 415: ("data", "d.data_checksum"),
    416: ("data", "'00000000000'"), 417: ("data", "0"), 418: ("data", "d.r_comment"),
    419: ("data", "d.create_ts"), 420: ("data", "d.modify_ts"), 421: ("data", "d.data_mode"),
    422: ("data", "'demoResc'"), 423: ("data", f"'{RESOURCE_ID}'"), 424: ("data", "d.access_ts"),
    500: ("coll", "c.coll_id"), 501: ("coll", "c.coll_name"), 502: ("coll", "c.parent_coll_name"),
    503: ("coll", "c.coll_owner_name"), 504: ("coll", "c.coll_owner_zone"),
    505: ("coll", "0"), 506: ("coll", "c.coll_inheritance"), 507: ("coll", "c.r_comment"),
    508: ("coll", "c.create_ts"), 509: ("coll", "c.modify_ts"),
    510: ("coll", "''"), 511: ("coll", "''"), 512: ("coll", "''"),
    600: ("dmeta", "dm.attr"), 601: ("dmeta", "dm.value"), 602: ("dmeta", "dm.units"),
    603: ("dmeta", "dm.meta_id"), 604: ("dmeta", "dm.create_ts"), 605: ("dmeta", "dm.modify_ts"),
    610: ("cmeta", "cm.attr"), 611: ("cmeta", "cm.value"), 612: ("cmeta", "cm.units"),
    613: ("cmeta", "cm.meta_id"), 614: ("cmeta", "cm.create_ts"), 615: ("cmeta", "cm.modify_ts"),
    630: ("rmeta", "rm.attr"), 631: ("rmeta", "rm.value"), 632: ("rmeta", "rm.units"),
    633: ("rmeta", "rm.meta_id"), 634: ("rmeta", "rm.create_ts"), 635: ("rmeta", "rm.modify_ts"),
    640: ("umeta", "um.attr"), 641: ("umeta", "um.value"), 642: ("umeta", "um.units"),
    643: ("umeta", "um.meta_id"), 644: ("umeta", "um.create_ts"), 645: ("umeta", "um.modify_ts"),
    700: ("dacc", "da.access_type_id"), 701: ("dacc", "dan.name"),
    702: ("dacc", "'access_type'"), 703: ("dacc", "da.user_id"), 704: ("dacc", "da.object_id"),
    1300: ("cacc", "(SELECT user_name FROM users WHERE user_id = ca.user_id)"),
    1301: ("cacc", "(SELECT zone_name FROM users WHERE user_id = ca.user_id)"),
    1310: ("dacc", "(SELECT user_name FROM users WHERE user_id = da.user_id)"),
    1311: ("dacc", "(SELECT zone_name FROM users WHERE user_id = da.user_id)"),
    710: ("cacc", "ca.access_type_id"), 711: ("cacc", "can.name"),
    712: ("cacc", "'access_type'"), 713: ("cacc", "ca.user_id"), 714: ("cacc", "ca.object_id"),
}

_JOINS = {
    "dmeta": "JOIN avus dm ON dm.object_id = d.data_id",
    "cmeta": "JOIN avus cm ON cm.object_id = c.coll_id",
    "dacc": "JOIN access da ON da.object_id = d.data_id "
    "JOIN access_names dan ON dan.code = da.access_type_id",
    "cacc": "JOIN access ca ON ca.object_id = c.coll_id "
    "JOIN access_names can ON can.code = ca.access_type_id",
    "umeta": "JOIN avus um ON um.object_id = u.user_id",
    "rmeta": "JOIN avus rm ON rm.object_id = r.resc_id",
}


@dataclass
class Query:
    selects: list[tuple[int, int]]
    conditions: list[tuple[int, str]]
    options: int = 0
    offset: int = 0
    params: list[object] = field(default_factory=list)


def _literals(text: str) -> list[str]:
    return re.findall(r"'((?:[^']|'(?!\s*(?:,|\)|$|'|\|\|)))*)'", text)


_OPERATOR = re.compile(
    r"^\s*(not\s+like|like|not\s+in|in|not\s+between|between|<>|!=|<=|>=|=|<|>)\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)


def _single_literal(rest: str) -> str:
    """PRC does not escape quotes inside values: take the text between the first and last quote."""
    rest = rest.strip()
    if len(rest) < 2 or rest[0] != "'" or rest[-1] != "'":
        raise IrodsError(CAT_SQL_ERR, f"bad literal {rest!r}")
    return rest[1:-1]


def condition_sql(expression: str, condition: str, params: list[object]) -> str:
    """Translate one condition (alternatives joined by ``||``) into SQL with bound parameters."""
    parts = [part for part in re.split(r"\|\|", condition)] if "||" in condition else [condition]
    clauses = [_one_condition(expression, part, params) for part in parts]
    return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"


def _one_condition(expression: str, condition: str, params: list[object]) -> str:
    match = _OPERATOR.match(condition)
    if match is None:
        raise IrodsError(CAT_SQL_ERR, f"unsupported condition {condition!r}")
    operator = " ".join(match.group(1).lower().split())
    rest = match.group(2)
    if operator in ("in", "not in"):
        values = _literals(rest)
        if not values:
            raise IrodsError(CAT_SQL_ERR, f"empty IN list in {condition!r}")
        params.extend(values)
        return f"{expression} {operator.upper()} ({','.join('?' * len(values))})"
    if operator in ("between", "not between"):
        values = _literals(rest)
        if len(values) != 2:
            raise IrodsError(CAT_SQL_ERR, f"BETWEEN needs two values in {condition!r}")
        params.extend(values)
        return f"{expression} {operator.upper()} ? AND ?"
    params.append(_single_literal(rest))
    sql_operator = "<>" if operator == "!=" else operator.upper()
    return f"{expression} {sql_operator} ?"


def _groups(columns: list[int]) -> set[str]:
    groups = set()
    for column in columns:
        if column not in COLUMNS:
            raise IrodsError(CAT_SQL_ERR, f"unknown column {column}")
        groups.add(COLUMNS[column][0])
    return groups


def _from_clause(groups: set[str]) -> str:
    """Join only what the query touches; refuse combinations iRODS could not join either."""
    parts: list[str] = []
    if groups & {"data", "dmeta", "dacc"}:
        parts.append("data d JOIN colls c ON c.coll_id = d.coll_id")
    elif groups & {"coll", "cmeta", "cacc"}:
        parts.append("colls c")
    for group in ("dmeta", "cmeta", "dacc", "cacc"):
        if group in groups:
            parts.append(_JOINS[group])
    if groups & {"user", "umeta"}:
        if "dacc" in groups:
            parts.append("JOIN users u ON u.user_id = da.user_id")
        elif "cacc" in groups:
            parts.append("JOIN users u ON u.user_id = ca.user_id")
        elif parts:
            raise IrodsError(CAT_SQL_ERR, "user columns cannot be joined with this query")
        else:
            parts.append("users u")
        if "umeta" in groups:
            parts.append(_JOINS["umeta"])
    if groups & {"resc", "rmeta"}:
        if parts and "data" in groups:
            parts.append("JOIN resources r ON r.resc_id = " + str(RESOURCE_ID))
        elif parts:
            raise IrodsError(CAT_SQL_ERR, "resource columns cannot be joined with this query")
        else:
            parts.append("resources r")
        if "rmeta" in groups:
            parts.append(_JOINS["rmeta"])
    if "zone" in groups:
        if parts:
            raise IrodsError(CAT_SQL_ERR, "zone columns cannot be joined with this query")
        parts.append("zones z")
    return " ".join(parts)


def _visibility(groups: set[str], user: User, public_id: int | None, params: list[object]) -> list[str]:
    """Non-admins see an object only with read on it and on its collection (live 5.0.2)."""
    if user.is_admin:
        return []
    ids = [user.id] + ([public_id] if public_id is not None else [])
    marks = ",".join("?" * len(ids))
    clauses = []
    if groups & {"data", "dmeta", "dacc"}:
        clauses.append(
            f"EXISTS (SELECT 1 FROM access x WHERE x.object_id = d.data_id AND x.user_id IN "
            f"({marks}) AND x.access_type_id >= {READ})"
        )
        params.extend(ids)
    if groups & {"data", "dmeta", "dacc", "coll", "cmeta", "cacc"}:
        clauses.append(
            f"EXISTS (SELECT 1 FROM access y WHERE y.object_id = c.coll_id AND y.user_id IN "
            f"({marks}) AND y.access_type_id >= {READ})"
        )
        params.extend(ids)
    return clauses


def build_sql(query: Query, user: User, public_id: int | None) -> tuple[str, list[object]]:
    if not query.selects:
        raise IrodsError(CAT_SQL_ERR, "no columns selected")
    groups = _groups([c for c, _ in query.selects] + [c for c, _ in query.conditions])
    params: list[object] = []
    select_sql, group_by, order_first = [], [], []
    order_rest: list[tuple[int, str]] = []
    has_aggregate = any((flags & 0xF) in AGGREGATES for _, flags in query.selects)
    for column, flags in query.selects:
        expression = COLUMNS[column][1]
        aggregate = AGGREGATES.get(flags & 0xF)
        select_sql.append(f"{aggregate}({expression})" if aggregate else expression)
        if not aggregate:
            group_by.append(expression)
            if flags & ORDER_BY_DESC:
                order_first.append(f"{expression} DESC")
            elif flags & ORDER_BY:
                order_first.append(expression)
            elif column in DEFAULT_ORDER:
                order_rest.append((DEFAULT_ORDER.index(column), expression))
    where: list[str] = []
    for column, condition in query.conditions:
        expression = COLUMNS[column][1]
        if query.options & UPPER_CASE_WHERE:
            expression = f"UPPER({expression})"
        where.append(condition_sql(expression, condition, params))
    where += _visibility(groups, user, public_id, params)
    distinct = "" if query.options & NO_DISTINCT or has_aggregate else "DISTINCT "
    sql = f"SELECT {distinct}{', '.join(select_sql)} FROM {_from_clause(groups)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if has_aggregate and group_by:
        sql += " GROUP BY " + ", ".join(group_by)
    # COLL_NAME before DATA_NAME whatever the select order, as the real catalog sorts.
    order = order_first + [expression for _, expression in sorted(order_rest)]
    if order:
        sql += " ORDER BY " + ", ".join(order)
    return sql, params
