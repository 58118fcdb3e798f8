"""Authentication: the 5.0 framework (110000: native, pam_password, pam_interactive) and legacy
native (703/704).

PAM schemes hand out a temporary iRODS password with a time to live, as the real PAM plugins
do; the client then authenticates natively with it (and stores it in ``.irodsA``).  The
pam_interactive conversation is scripted by ``ServerConfig.pam_script`` so the login flow of
ManGO (device-code URL, polling, password prompt) can be exercised end to end.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

from ..catalog import User
from ..codes import (
    CAT_INVALID_AUTHENTICATION,
    CAT_INVALID_USER,
    CAT_PASSWORD_EXPIRED,
    PAM_AUTH_PASSWORD_FAILED,
    SYS_INVALID_INPUT_PARAM,
    SYS_NOT_ALLOWED,
    USER_AUTH_SCHEME_ERR,
    IrodsError,
)
from ..state import ConnectionState, ServerState
from ..wire import Message
from ..xmlpack import Struct
from .base import Reply, api, body, json_reply, json_request

MAX_PASSWORD_LENGTH = 50
DEFAULT_SCRIPT: list[dict[str, object]] = [{"kind": "password", "prompt": "Password:"}]


def digest(challenge: bytes, password: str) -> bytes:
    padded = password.strip().encode("utf-8")[:MAX_PASSWORD_LENGTH].ljust(MAX_PASSWORD_LENGTH, b"\0")
    return hashlib.md5(challenge + padded).digest().replace(b"\0", b"\1")


def new_challenge(connection: ConnectionState) -> bytes:
    connection.challenge = secrets.token_hex(32).encode()
    connection.signature = "".join(f"{byte:02x}" for byte in connection.challenge[:16])
    return connection.challenge


def _lookup_user(server: ServerState, name: str, zone: str) -> User:
    user = server.catalog.user(name.partition("#")[0], zone or server.config.zone)
    if user is None or user.type == "rodsgroup":
        raise IrodsError(CAT_INVALID_USER, name)
    return user


def verify_digest(server: ServerState, connection: ConnectionState, user: User, response: bytes) -> None:
    """Accept the account password or an unexpired temporary (PAM) password."""
    candidates: list[tuple[str, int | None]] = [(server.catalog.password(user.id), None)]
    candidates += [(pw, expiry) for pw, expiry in server.catalog.temp_passwords(user.id)]
    for password, expiry in candidates:
        if password and secrets.compare_digest(digest(connection.challenge, password), response):
            if expiry is not None and expiry < time.time():
                raise IrodsError(CAT_PASSWORD_EXPIRED, "temporary password expired")
            connection.user = user
            return
    raise IrodsError(CAT_INVALID_AUTHENTICATION, "authentication failed")


@api(110000)
async def authenticate(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    request = json_request(message)
    scheme = request.get("scheme")
    if scheme == "native":
        return _native(server, connection, request)
    if scheme == "pam_password":
        return _pam_password(server, connection, request)
    if scheme == "pam_interactive":
        return _pam_interactive(server, connection, request)
    raise IrodsError(USER_AUTH_SCHEME_ERR, f"unknown scheme {scheme!r}")


def _native(server: ServerState, connection: ConnectionState, request: dict[str, object]) -> Reply:
    operation = request.get("next_operation")
    if operation == "auth_agent_auth_request":
        return json_reply({**request, "request_result": new_challenge(connection).decode()})
    if operation == "auth_agent_auth_response":
        if not connection.challenge:
            raise IrodsError(CAT_INVALID_AUTHENTICATION, "no challenge issued")
        user = _lookup_user(server, str(request.get("user_name", "")), str(request.get("zone_name", "")))
        try:
            response = base64.b64decode(str(request.get("digest", "")))
        except ValueError as exc:
            raise IrodsError(CAT_INVALID_AUTHENTICATION, "bad digest") from exc
        verify_digest(server, connection, user, response)
        return json_reply(request)
    raise IrodsError(SYS_INVALID_INPUT_PARAM, f"unknown operation {operation!r}")


def _require_tls(server: ServerState, connection: ConnectionState) -> None:
    if not connection.tls and not server.config.pam_allow_insecure:
        raise IrodsError(SYS_NOT_ALLOWED, "PAM authentication requires TLS")


def _issue_temp_password(server: ServerState, user: User, ttl_hours: object) -> str:
    ttl = server.config.pam_ttl_seconds
    if isinstance(ttl_hours, (int, str)) and str(ttl_hours).strip().isdigit() and int(ttl_hours) > 0:
        ttl = int(ttl_hours) * 3600
    password = secrets.token_hex(16)
    server.catalog.add_temp_password(user.id, password, ttl)
    return password


def _pam_password(server: ServerState, connection: ConnectionState, request: dict[str, object]) -> Reply:
    _require_tls(server, connection)
    user = _lookup_user(server, str(request.get("user_name", "")), str(request.get("zone_name", "")))
    if str(request.get("a_pw", "")) != server.catalog.password(user.id):
        raise IrodsError(PAM_AUTH_PASSWORD_FAILED, "PAM password check failed")
    reply = {k: v for k, v in request.items() if k != "a_pw"}
    reply["request_result"] = _issue_temp_password(server, user, request.get("a_ttl"))
    return json_reply(reply)


def _pam_interactive(server: ServerState, connection: ConnectionState, request: dict[str, object]) -> Reply:
    _require_tls(server, connection)
    operation = request.get("next_operation")
    if operation == "auth_agent_auth_request":
        connection.pam_state = {"step": 0, "polls": 0, "awaiting": None}
        return json_reply(request)
    if operation != "auth_agent_auth_response":
        raise IrodsError(SYS_INVALID_INPUT_PARAM, f"unknown operation {operation!r}")
    user = _lookup_user(server, str(request.get("user_name", "")), str(request.get("zone_name", "")))
    state = connection.pam_state
    awaiting = state.get("awaiting")
    if isinstance(awaiting, dict):
        if not _answer_ok(server, user, awaiting, str(request.get("resp", ""))):
            return json_reply({**request, "next_operation": "not_authenticated",
                               "msg": {"prompt": "Authentication failed"}})
        state["awaiting"] = None
        state["step"] = int(str(state["step"])) + 1
    return _next_pam_step(server, user, state, request)


def _answer_ok(server: ServerState, user: User, step: dict[str, object], answer: str) -> bool:
    if "expect" in step:
        return answer == str(step["expect"])
    return answer == server.catalog.password(user.id)


def _next_pam_step(server: ServerState, user: User, state: dict[str, object],
                   request: dict[str, object]) -> Reply:
    script = server.config.pam_script or DEFAULT_SCRIPT
    index = int(str(state["step"]))
    if index >= len(script):
        password = _issue_temp_password(server, user, request.get("a_ttl"))
        return json_reply({**request, "next_operation": "authenticated", "request_result": password})
    step = script[index]
    prompt = str(step.get("prompt", ""))
    if step.get("kind") == "poll":
        polls = int(str(state["polls"])) + 1
        state["polls"] = polls
        if polls >= int(str(step.get("count", 1))):
            state["step"], state["polls"] = index + 1, 0
        return json_reply({**request, "next_operation": "next", "msg": {"prompt": prompt}})
    name = str(step.get("name", "password" if step.get("kind") == "password" else f"answer{index}"))
    state["awaiting"] = step
    secret = step.get("kind") == "password"
    return json_reply({**request, "next_operation": "waiting_pw" if secret else "waiting", "msg": {
        "prompt": prompt, "password": secret, "default_path": f"/{name}",
        "patch": [{"op": "add", "path": f"/{name}"}]}})


@api(703)
async def auth_request(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    challenge = base64.b64encode(new_challenge(connection)).decode()
    return Reply(body=Struct("authRequestOut_PI", [("challenge", challenge)]).encode())


@api(704)
async def auth_response(server: ServerState, connection: ConnectionState, message: Message) -> Reply:
    element = body(message)
    if not connection.challenge:
        raise IrodsError(CAT_INVALID_AUTHENTICATION, "no challenge issued")
    user = _lookup_user(server, element.get_str("username") or connection.proxy_user, connection.proxy_zone)
    verify_digest(server, connection, user, base64.b64decode(element.get_str("response")))
    return Reply()
