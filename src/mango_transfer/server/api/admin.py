"""User administration (GENERAL_ADMIN 701, USER_ADMIN 714): enough for tests to add users.

Passwords arrive scrambled with the admin's password and the connection's signature (the first
16 bytes of the auth challenge, hex), as iadmin does; we reverse that with PRC's own
``unscramble`` so the wire format stays exactly the client's.
"""

from __future__ import annotations

import hashlib

from irods.password_obfuscation import unscramble

from ..catalog import OWN, User
from ..codes import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CAT_INVALID_ARGUMENT,
    CAT_INVALID_USER,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    IrodsError,
)
from ..state import ConnectionState, ServerState
from ..wire import Message
from .base import Reply, api, body, user_of

_PADDING = "1gCBizHWbwIYyWLoysGzTe6SyzqFKMniZX05faZHWAwQKXf6Fs"
USER_TYPES = ("rodsuser", "rodsadmin", "groupadmin", "rodsgroup")


def _strip_padding(password: str) -> str:
    for length in range(len(_PADDING), 15, -1):
        if password.endswith(_PADDING[:length]):
            return password[: -length]
    return password


def descramble_v2(scrambled: str, admin_password: str, signature: str) -> str:
    """A new password as iadmin (v2: keyed with the connection's signature) or PRC's
    ``create_with_password`` (v1: keyed with the admin's password alone) scrambles it; like the
    catalog's ``decodePw``, v2 is tried first and v1 when its marker is missing."""
    key = (admin_password[:90] + signature[:100]).ljust(100, "\x00")
    hashed = hashlib.md5(key.encode("utf-8")).hexdigest()
    plain = unscramble(scrambled, key=hashed, scramble_prefix="", block_chaining=True)
    # One random character, then the ".ObfV2" marker, then the padded password.
    if plain[1:7] == ".ObfV2":
        return _strip_padding(plain[7:])
    return _strip_padding(unscramble(scrambled, key=admin_password, scramble_prefix=""))


def _split_user(name: str, zone: str, default_zone: str) -> tuple[str, str]:
    user, _, at_zone = name.partition("#")
    return user, at_zone or zone or default_zone


@api(701)
async def general_admin(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    caller = user_of(connection)
    if not caller.is_admin:
        raise IrodsError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "rodsadmin only")
    element = body(message)
    args = [element.get_str(f"arg{i}") for i in range(10)]
    action, target = args[0], args[1]
    catalog = server.catalog
    zone = server.config.zone
    if action == "add" and target == "user":
        name, user_zone = _split_user(args[2], args[4], zone)
        if args[3] not in USER_TYPES:
            raise IrodsError(CAT_INVALID_ARGUMENT, f"bad user type {args[3]!r}")
        if catalog.user(name, user_zone) is not None:
            raise IrodsError(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, name)
        with catalog.transaction():
            created = catalog.create_user(name, user_zone, args[3])
            if args[3] != "rodsgroup":
                create_home(server, created)
        return Reply()
    if action == "modify" and target == "user":
        name, user_zone = _split_user(args[2], args[5], zone)
        target_user = catalog.user(name, user_zone)
        if target_user is None:
            raise IrodsError(CAT_INVALID_USER, name)
        if args[3] == "password":
            admin_password = catalog.password(caller.id)
            password = descramble_v2(args[4], admin_password, connection.signature)
            catalog.set_password(target_user.id, password)
        elif args[3] == "type":
            catalog.db.execute("UPDATE users SET user_type = ? WHERE user_id = ?", (args[4], target_user.id))
        elif args[3] in ("info", "comment"):
            column = "user_info" if args[3] == "info" else "r_comment"
            catalog.db.execute(f"UPDATE users SET {column} = ? WHERE user_id = ?", (args[4], target_user.id))
        else:
            raise IrodsError(CAT_INVALID_ARGUMENT, f"cannot modify {args[3]!r}")
        return Reply()
    if action == "rm" and target == "user":
        name, user_zone = _split_user(args[2], args[3], zone)
        removed = catalog.user(name, user_zone)
        if removed is None:
            raise IrodsError(CAT_INVALID_USER, name)
        catalog.remove_user(removed.id)
        return Reply()
    raise IrodsError(CAT_INVALID_ARGUMENT, f"unsupported admin action {action} {target}")


def create_home(server: ServerState, user: User) -> None:
    """The new user's home and trash home, owned by the user."""
    catalog = server.catalog
    zone = server.config.zone
    for path in (f"/{zone}/home/{user.name}", f"/{zone}/trash/home/{user.name}"):
        if catalog.coll(path) is None:
            coll_id = catalog.insert_coll(path, user)
            catalog.set_access(coll_id, user.id, OWN)
