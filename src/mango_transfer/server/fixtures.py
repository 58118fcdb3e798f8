"""BENCHMARK FIXTURE, not an iRODS API: register many catalog entries directly in SQLite.

Creating a million objects through the protocol would take an hour; a walk benchmark only needs
them listed.  This writes rows (size 0, good, no vault file) into the catalog of a server that is
*not running*, as an administrator would bulk-register files, owned by the zone's admin.
"""

from __future__ import annotations

from pathlib import Path

from .catalog import OWN, REPL_GOOD, Catalog, User, timestamp


def register_tree(data_dir: Path, collection: str, objects: int, per_collection: int = 1000,
                  owner: str = "rods") -> int:
    catalog = Catalog(data_dir / "catalog.sqlite")
    try:
        zone = catalog.setting("zone")
        admin = catalog.user(owner, zone or "")
        if admin is None:
            raise ValueError(f"no user {owner!r} in {data_dir}")
        now = timestamp()
        with catalog.transaction():
            if catalog.coll(collection) is None:
                _make_parents(catalog, collection, admin)
            for start in range(0, objects, per_collection):
                sub = f"{collection}/c{start // per_collection:06d}"
                coll_id = catalog.insert_coll(sub, admin)
                catalog.set_access(coll_id, admin.id, OWN)
                rows = []
                for index in range(start, min(start + per_collection, objects)):
                    data_id = catalog.new_object_id("data")
                    rows.append((data_id, coll_id, f"f{index:08d}.dat", "", admin.name, admin.zone,
                                 REPL_GOOD, now, now, now))
                catalog.db.executemany(
                    "INSERT INTO data(data_id, coll_id, data_name, data_path, data_owner_name, "
                    "data_owner_zone, data_is_dirty, create_ts, modify_ts, access_ts) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                catalog.db.executemany(
                    "INSERT INTO access(object_id, user_id, access_type_id) VALUES (?,?,?)",
                    [(row[0], admin.id, OWN) for row in rows])
        return objects
    finally:
        catalog.close()


def _make_parents(catalog: Catalog, collection: str, admin: User) -> None:
    parts = collection.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        path = "/" + "/".join(parts[:depth])
        if catalog.coll(path) is None:
            coll_id = catalog.insert_coll(path, admin)
            catalog.set_access(coll_id, admin.id, OWN)
