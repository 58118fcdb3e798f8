"""USER_ADMIN (714): ``mkuser`` as python-irodsclient's ``users.create_with_password`` sends it.

As iRODS 5.0.2's ``rsUserAdmin``: ``mkuser NAME[#ZONE] SCRAMBLED`` creates a rodsuser with its
home, then sets the password, which arrives scrambled with the caller's own password (see
``admin.descramble_v2``); a password longer than MAX_PASSWORD_LEN - 8 after descrambling is
PASSWORD_EXCEEDS_MAX_SIZE.  Only a rodsadmin or groupadmin may create users.
"""

from __future__ import annotations

from ..codes import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    IrodsError,
)
from ..state import ConnectionState, ServerState
from ..wire import Message
from .admin import create_home, descramble_v2
from .base import Reply, api, body, user_of

CAT_INVALID_ARGUMENT = -816000
PASSWORD_EXCEEDS_MAX_SIZE = -903000
MAX_PASSWORD_LEN = 50


@api(714)
async def user_admin(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    caller = user_of(connection)
    request = body(message)
    args = [request.get_str(f"arg{i}") for i in range(10)]
    if args[0] != "mkuser":
        raise IrodsError(CAT_INVALID_ARGUMENT, f"unsupported user-admin action {args[0]!r}")
    if caller.type not in ("rodsadmin", "groupadmin"):
        raise IrodsError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "only admins and group admins create users")
    name, _, zone = args[1].partition("#")
    zone = zone or server.config.zone
    catalog = server.catalog
    if catalog.user(name, zone) is not None:
        raise IrodsError(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, name)
    password = ""
    if args[2]:
        if len(args[2]) > MAX_PASSWORD_LEN - 8:
            raise IrodsError(PASSWORD_EXCEEDS_MAX_SIZE, "password too long")
        password = descramble_v2(args[2], catalog.password(caller.id), connection.signature)
    with catalog.transaction():
        created = catalog.create_user(name, zone, "rodsuser", password)
        create_home(server, created)
    return Reply()
