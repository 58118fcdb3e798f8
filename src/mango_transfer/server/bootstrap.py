"""A new data directory starts as a fresh iRODS zone does; an existing one is reopened."""

from __future__ import annotations

from .catalog import OWN, REPL_INTERMEDIATE, REPL_STALE, RESOURCE_ID, Catalog, timestamp
from .state import ServerConfig


def initialize_zone(catalog: Catalog, config: ServerConfig) -> None:
    zone, admin_name = config.zone, config.user
    with catalog.transaction():
        if catalog.setting("zone") is None:
            _create_zone(catalog, config)
        elif catalog.setting("zone") != zone:
            raise ValueError(
                f"data directory holds zone {catalog.setting('zone')!r}, not {zone!r}"
            )
        admin = catalog.user(admin_name, zone)
        if admin is None:
            admin = catalog.create_user(admin_name, zone, "rodsadmin")
            _create_home(catalog, zone, admin_name, admin.id)
        catalog.set_password(admin.id, config.password)
        # Agents do not survive a restart: replicas left open for write are now stale.
        catalog.db.execute(
            "UPDATE data SET data_is_dirty = ?, data_checksum = '' WHERE data_is_dirty = ?",
            (REPL_STALE, REPL_INTERMEDIATE),
        )


def _create_zone(catalog: Catalog, config: ServerConfig) -> None:
    zone, now = config.zone, timestamp()
    catalog.set_setting("zone", zone)
    catalog.db.execute("INSERT INTO zones VALUES (?, ?, 'local')", (9000, zone))
    catalog.db.execute(
        "INSERT INTO resources(resc_id, resc_name, zone_name, resc_type_name, resc_class_name, "
        "resc_net, resc_def_path, create_ts, modify_ts) VALUES (?,?,?,?,?,?,?,?,?)",
        (RESOURCE_ID, config.resource, zone, "unixfilesystem", "cache", config.host,
         str(config.data_dir / "vault"), now, now),
    )
    admin = catalog.create_user(config.user, zone, "rodsadmin", config.password)
    public = catalog.create_user("public", zone, "rodsgroup")
    # As a fresh 5.0.2 zone: only the admin has access to the top collections, so a rodsuser
    # cannot see (list, query, stat) /, /zone or /zone/home; the group public owns its homes.
    for path in ("/", f"/{zone}", f"/{zone}/home", f"/{zone}/trash", f"/{zone}/trash/home"):
        coll_id = catalog.insert_coll(path, admin)
        catalog.set_access(coll_id, admin.id, OWN)
    for path in (f"/{zone}/home/public", f"/{zone}/trash/home/public"):
        catalog.set_access(catalog.insert_coll(path, admin), public.id, OWN)
    _create_home(catalog, zone, config.user, admin.id)


def _create_home(catalog: Catalog, zone: str, name: str, user_id: int) -> None:
    user = catalog.user_by_id(user_id)
    assert user is not None
    for path in (f"/{zone}/home/{name}", f"/{zone}/trash/home/{name}"):
        if catalog.coll(path) is None:
            coll_id = catalog.insert_coll(path, user)
            catalog.set_access(coll_id, user_id, OWN)
