"""The catalog: users, collections, data objects, ACLs and AVUs in SQLite (WAL).

It stores facts and answers lookups; the iRODS *rules* (who may do what, which error code) live in
``api.py``.  All calls happen on the server's event-loop thread, so one connection suffices and no
locking is needed; multi-statement changes run inside ``transaction()`` so a crash never leaves a
half-renamed tree.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_LEVELS: dict[str, int] = {
    "null": 1000, "execute": 1010, "read_annotation": 1020, "read_system_metadata": 1030,
    "read_metadata": 1040, "read_object": 1050, "write_annotation": 1060, "create_metadata": 1070,
    "modify_metadata": 1080, "delete_metadata": 1090, "administer_object": 1100,
    "create_object": 1110, "modify_object": 1120, "delete_object": 1130, "create_token": 1140,
    "delete_token": 1150, "curate": 1160, "own": 1200,
}
READ = ACCESS_LEVELS["read_object"]
WRITE = ACCESS_LEVELS["modify_object"]
OWN = ACCESS_LEVELS["own"]

REPL_STALE, REPL_GOOD, REPL_INTERMEDIATE = 0, 1, 2

RESOURCE_ID = 10014

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS object_ids(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT);
CREATE TABLE IF NOT EXISTS zones(zone_id INTEGER PRIMARY KEY, zone_name TEXT, zone_type TEXT);
CREATE TABLE IF NOT EXISTS users(
    user_id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, zone_name TEXT NOT NULL,
    user_type TEXT NOT NULL, user_info TEXT DEFAULT '', r_comment TEXT DEFAULT '',
    create_ts TEXT, modify_ts TEXT, password TEXT DEFAULT '', UNIQUE(user_name, zone_name));
CREATE TABLE IF NOT EXISTS temp_passwords(password TEXT PRIMARY KEY, user_id INTEGER, expiry INTEGER);
CREATE TABLE IF NOT EXISTS resources(
    resc_id INTEGER PRIMARY KEY, resc_name TEXT, zone_name TEXT, resc_type_name TEXT,
    resc_class_name TEXT, resc_net TEXT, resc_def_path TEXT, free_space TEXT DEFAULT '',
    r_comment TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT, resc_status TEXT DEFAULT '',
    resc_children TEXT DEFAULT '', resc_context TEXT DEFAULT '', resc_parent TEXT DEFAULT '',
    resc_parent_context TEXT DEFAULT '', free_space_ts TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS colls(
    coll_id INTEGER PRIMARY KEY, coll_name TEXT NOT NULL UNIQUE, parent_coll_name TEXT NOT NULL,
    coll_owner_name TEXT, coll_owner_zone TEXT, coll_inheritance TEXT DEFAULT '',
    r_comment TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE INDEX IF NOT EXISTS colls_parent ON colls(parent_coll_name);
CREATE TABLE IF NOT EXISTS data(
    data_id INTEGER PRIMARY KEY, coll_id INTEGER NOT NULL, data_name TEXT NOT NULL,
    data_type_name TEXT DEFAULT 'generic', data_size INTEGER DEFAULT 0, data_path TEXT,
    data_owner_name TEXT, data_owner_zone TEXT, data_is_dirty INTEGER DEFAULT 1,
    data_checksum TEXT DEFAULT '', r_comment TEXT DEFAULT '', data_mode TEXT DEFAULT '',
    create_ts TEXT, modify_ts TEXT, access_ts TEXT, UNIQUE(coll_id, data_name));
CREATE TABLE IF NOT EXISTS access(
    object_id INTEGER, user_id INTEGER, access_type_id INTEGER, PRIMARY KEY(object_id, user_id));
CREATE TABLE IF NOT EXISTS access_names(code INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE IF NOT EXISTS avus(
    meta_id INTEGER PRIMARY KEY AUTOINCREMENT, object_id INTEGER NOT NULL, attr TEXT NOT NULL,
    value TEXT NOT NULL, units TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE INDEX IF NOT EXISTS avus_object ON avus(object_id);
"""


def timestamp(seconds: float | None = None) -> str:
    """iRODS stores times as zero-padded 11-digit epoch strings; comparisons rely on it."""
    return f"{int(time.time() if seconds is None else seconds):011d}"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    zone: str
    type: str

    @property
    def is_admin(self) -> bool:
        return self.type == "rodsadmin"


def parent_of(path: str) -> str:
    parent = path.rsplit("/", 1)[0]
    return parent or "/"


def basename(path: str) -> str:
    return path.rsplit("/", 1)[1]


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._public_id: int | None = None
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA case_sensitive_like=ON")
        self.db.executescript(SCHEMA)
        self.db.executemany(
            "INSERT OR IGNORE INTO access_names(code, name) VALUES (?, ?)",
            [(code, name) for name, code in ACCESS_LEVELS.items()],
        )

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def new_object_id(self, kind: str) -> int:
        cursor = self.db.execute("INSERT INTO object_ids(kind) VALUES (?)", (kind,))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    # -- settings ---------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    # -- users ------------------------------------------------------------------------------
    def user(self, name: str, zone: str) -> User | None:
        row = self.db.execute(
            "SELECT user_id, user_name, zone_name, user_type FROM users "
            "WHERE user_name = ? AND zone_name = ?",
            (name, zone),
        ).fetchone()
        return None if row is None else User(row[0], row[1], row[2], row[3])

    def user_by_id(self, user_id: int) -> User | None:
        row = self.db.execute(
            "SELECT user_id, user_name, zone_name, user_type FROM users WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        return None if row is None else User(row[0], row[1], row[2], row[3])

    def create_user(self, name: str, zone: str, user_type: str, password: str = "") -> User:
        now = timestamp()
        user_id = self.new_object_id("user")
        self.db.execute(
            "INSERT INTO users(user_id, user_name, zone_name, user_type, create_ts, modify_ts, "
            "password) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user_id, name, zone, user_type, now, now, password),
        )
        return User(user_id, name, zone, user_type)

    def remove_user(self, user_id: int) -> None:
        self.db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
        self.db.execute("DELETE FROM access WHERE user_id = ?", (user_id,))

    def password(self, user_id: int) -> str:
        row = self.db.execute("SELECT password FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return "" if row is None else str(row[0])

    def set_password(self, user_id: int, password: str) -> None:
        self.db.execute(
            "UPDATE users SET password = ?, modify_ts = ? WHERE user_id = ?",
            (password, timestamp(), user_id),
        )

    def add_temp_password(self, user_id: int, password: str, ttl_seconds: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO temp_passwords(password, user_id, expiry) VALUES (?, ?, ?)",
            (password, user_id, int(time.time()) + ttl_seconds),
        )

    def temp_passwords(self, user_id: int) -> list[tuple[str, int]]:
        rows = self.db.execute(
            "SELECT password, expiry FROM temp_passwords WHERE user_id = ?", (user_id,)
        ).fetchall()
        return [(str(r[0]), int(r[1])) for r in rows]

    def public_group_id(self) -> int | None:
        """Asked on every permission check; the group is created once with the zone."""
        if self._public_id is None:
            row = self.db.execute(
                "SELECT user_id FROM users WHERE user_name = 'public' AND user_type = 'rodsgroup'"
            ).fetchone()
            self._public_id = None if row is None else int(row[0])
        return self._public_id

    # -- namespace --------------------------------------------------------------------------
    def coll(self, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM colls WHERE coll_name = ?", (name,)
        ).fetchone()
        return row

    def data_object(self, path: str) -> sqlite3.Row | None:
        if path.count("/") < 2:
            return None
        row: sqlite3.Row | None = self.db.execute(
            "SELECT d.*, c.coll_name FROM data d JOIN colls c ON c.coll_id = d.coll_id "
            "WHERE c.coll_name = ? AND d.data_name = ?",
            (parent_of(path), basename(path)),
        ).fetchone()
        return row

    def data_by_id(self, data_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT d.*, c.coll_name FROM data d JOIN colls c ON c.coll_id = d.coll_id "
            "WHERE d.data_id = ?",
            (data_id,),
        ).fetchone()
        return row

    def insert_coll(self, name: str, owner: User, inheritance: str = "") -> int:
        now = timestamp()
        coll_id = self.new_object_id("coll")
        self.db.execute(
            "INSERT INTO colls(coll_id, coll_name, parent_coll_name, coll_owner_name, "
            "coll_owner_zone, coll_inheritance, create_ts, modify_ts) VALUES (?,?,?,?,?,?,?,?)",
            (coll_id, name, parent_of(name) if name != "/" else "/", owner.name, owner.zone,
             inheritance, now, now),
        )
        return coll_id

    def insert_data(self, coll_id: int, name: str, owner: User, vault_path_for: object) -> int:
        now = timestamp()
        data_id = self.new_object_id("data")
        path = vault_path_for(data_id)  # type: ignore[operator]
        self.db.execute(
            "INSERT INTO data(data_id, coll_id, data_name, data_path, data_owner_name, "
            "data_owner_zone, data_is_dirty, create_ts, modify_ts, access_ts) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (data_id, coll_id, name, str(path), owner.name, owner.zone, REPL_INTERMEDIATE,
             now, now, now),
        )
        return data_id

    def update_data(self, data_id: int, **fields: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        self.db.execute(
            f"UPDATE data SET {assignments} WHERE data_id = ?", (*fields.values(), data_id)
        )

    def touch_coll(self, coll_id: int, seconds: float | None = None) -> None:
        self.db.execute(
            "UPDATE colls SET modify_ts = ? WHERE coll_id = ?", (timestamp(seconds), coll_id)
        )

    def delete_data(self, data_id: int) -> None:
        self.db.execute("DELETE FROM data WHERE data_id = ?", (data_id,))
        self._forget_object(data_id)

    def _forget_object(self, object_id: int) -> None:
        self.db.execute("DELETE FROM access WHERE object_id = ?", (object_id,))
        self.db.execute("DELETE FROM avus WHERE object_id = ?", (object_id,))

    def subtree_colls(self, name: str) -> list[sqlite3.Row]:
        prefix = name.rstrip("/") + "/"
        return list(
            self.db.execute(
                "SELECT * FROM colls WHERE coll_name = ? OR substr(coll_name, 1, ?) = ? "
                "ORDER BY length(coll_name) DESC",
                (name, len(prefix), prefix),
            )
        )

    def data_in_colls(self, coll_ids: list[int]) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = []
        for start in range(0, len(coll_ids), 500):
            chunk = coll_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.db.execute(f"SELECT * FROM data WHERE coll_id IN ({marks})", chunk)
        return rows

    def delete_coll(self, coll_id: int) -> None:
        self.db.execute("DELETE FROM colls WHERE coll_id = ?", (coll_id,))
        self._forget_object(coll_id)

    def has_children(self, coll: sqlite3.Row) -> bool:
        name = coll["coll_name"]
        child = self.db.execute(
            "SELECT 1 FROM colls WHERE parent_coll_name = ? AND coll_name <> ? LIMIT 1",
            (name, name),
        ).fetchone()
        data = self.db.execute(
            "SELECT 1 FROM data WHERE coll_id = ? LIMIT 1", (coll["coll_id"],)
        ).fetchone()
        return child is not None or data is not None

    def rename_coll_tree(self, old: str, new: str) -> None:
        """Rewrite every collection name under ``old``; ids (and so data) stay attached."""
        prefix = old + "/"
        self.db.execute(
            "UPDATE colls SET coll_name = ? || substr(coll_name, ?), "
            "parent_coll_name = CASE WHEN coll_name = ? THEN ? "
            "ELSE ? || substr(parent_coll_name, ?) END "
            "WHERE coll_name = ? OR substr(coll_name, 1, ?) = ?",
            (new, len(old) + 1, old, parent_of(new), new, len(old) + 1, old, len(prefix), prefix),
        )

    # -- access control ---------------------------------------------------------------------
    def access_level(self, object_id: int, user: User) -> int:
        ids = [user.id]
        public = self.public_group_id()
        if public is not None:
            ids.append(public)
        marks = ",".join("?" * len(ids))
        row = self.db.execute(
            f"SELECT MAX(access_type_id) FROM access WHERE object_id = ? AND user_id IN ({marks})",
            (object_id, *ids),
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def set_access(self, object_id: int, user_id: int, level: int) -> None:
        if level <= ACCESS_LEVELS["null"]:
            self.db.execute(
                "DELETE FROM access WHERE object_id = ? AND user_id = ?", (object_id, user_id)
            )
        else:
            self.db.execute(
                "INSERT OR REPLACE INTO access(object_id, user_id, access_type_id) VALUES (?,?,?)",
                (object_id, user_id, level),
            )

    def copy_access(self, source_id: int, target_id: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO access(object_id, user_id, access_type_id) "
            "SELECT ?, user_id, access_type_id FROM access WHERE object_id = ?",
            (target_id, source_id),
        )

    def set_inheritance(self, coll_id: int, flag: str) -> None:
        self.db.execute("UPDATE colls SET coll_inheritance = ? WHERE coll_id = ?", (flag, coll_id))

    # -- metadata ---------------------------------------------------------------------------
    def avus(self, object_id: int) -> list[tuple[str, str, str]]:
        rows = self.db.execute(
            "SELECT attr, value, units FROM avus WHERE object_id = ? ORDER BY meta_id", (object_id,)
        ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2] or "")) for r in rows]

    def has_avu(self, object_id: int, attr: str, value: str, units: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM avus WHERE object_id = ? AND attr = ? AND value = ? AND units = ?",
            (object_id, attr, value, units),
        ).fetchone()
        return row is not None

    def add_avu(self, object_id: int, attr: str, value: str, units: str) -> None:
        now = timestamp()
        self.db.execute(
            "INSERT INTO avus(object_id, attr, value, units, create_ts, modify_ts) "
            "VALUES (?,?,?,?,?,?)",
            (object_id, attr, value, units, now, now),
        )

    def remove_avu(self, object_id: int, attr: str, value: str, units: str | None) -> int:
        if units is None:
            cursor = self.db.execute(
                "DELETE FROM avus WHERE object_id = ? AND attr = ? AND value = ?",
                (object_id, attr, value),
            )
        else:
            cursor = self.db.execute(
                "DELETE FROM avus WHERE object_id = ? AND attr = ? AND value = ? AND units = ?",
                (object_id, attr, value, units),
            )
        return cursor.rowcount

    def remove_avus_by_attr(self, object_id: int, attr: str) -> None:
        self.db.execute("DELETE FROM avus WHERE object_id = ? AND attr = ?", (object_id, attr))
