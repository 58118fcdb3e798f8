"""iadmin mkuser / moduser password (GENERAL_ADMIN 701) and PRC's users.create_with_password
(USER_ADMIN 714): the new user logs in with that password on both zones."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from irods.exception import CAT_INVALID_AUTHENTICATION
from irods.session import iRODSSession

from tests.icommands.conftest import Zone


def _as_admin(zone: Zone, *args: str, check: bool = True) -> str:
    env = {"IRODS_ENVIRONMENT_FILE": str(zone.admin_env), "IRODS_AUTHENTICATION_FILE": str(zone.admin_auth)}
    result = subprocess.run(list(args), env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _login(zone: Zone, user: str, password: str, folder: Path) -> tuple[int, str]:
    """iinit as ``user`` with ``password``, then ils: (exit code, output)."""
    env = json.loads(zone.admin_env.read_text())
    home = f"/{zone.zone}/home/{user}"
    folder.mkdir(parents=True, exist_ok=True)
    env.update(irods_user_name=user, irods_home=home, irods_cwd=home,
               irods_authentication_file=str(folder / ".irodsA"))
    (folder / "env.json").write_text(json.dumps(env))
    environ = {**os.environ, "IRODS_ENVIRONMENT_FILE": str(folder / "env.json"),
               "IRODS_AUTHENTICATION_FILE": str(folder / ".irodsA")}
    init = subprocess.run(["iinit"], input=password + "\n", env=environ, capture_output=True, text=True, timeout=60)
    if init.returncode != 0:
        return init.returncode, init.stdout + init.stderr
    listing = subprocess.run(["ils"], env=environ, capture_output=True, text=True, timeout=60)
    return listing.returncode, listing.stdout + listing.stderr


def test_iadmin_mkuser_then_moduser_password(zone: Zone, tmp_path: Path) -> None:
    name = f"{zone.user}i"
    _as_admin(zone, "iadmin", "mkuser", name, "rodsuser")
    try:
        _as_admin(zone, "iadmin", "moduser", name, "password", "first-pw")
        code, out = _login(zone, name, "first-pw", tmp_path / "a")
        assert code == 0 and out.startswith(f"/{zone.zone}/home/{name}:"), out
        _as_admin(zone, "iadmin", "moduser", name, "password", "second-pw")
        code, out = _login(zone, name, "first-pw", tmp_path / "b")
        assert code != 0 and "CAT_INVALID_AUTHENTICATION" in out
        assert _login(zone, name, "second-pw", tmp_path / "c")[0] == 0
        again = _as_admin(zone, "iadmin", "mkuser", name, "rodsuser", check=False)
        assert "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME" in again
    finally:
        _as_admin(zone, "iadmin", "rmuser", name, check=False)


def test_iadmin_as_a_rodsuser_is_refused(zone: Zone) -> None:
    result = zone.run("iadmin", "mkuser", f"{zone.user}x", "rodsuser", check=False)
    assert result.returncode != 0
    assert "CAT_INSUFFICIENT_PRIVILEGE_LEVEL" in result.stdout + result.stderr or \
        "SYS_NO_API_PRIV" in result.stdout + result.stderr


def test_create_with_password_then_login(zone: Zone) -> None:
    name = f"{zone.user}p"
    with zone.admin_session() as admin:
        admin.users.create_with_password(name, "prc-pw")
        try:
            host, port = admin.host, admin.port
            with iRODSSession(host=host, port=port, user=name, zone=zone.zone, password="prc-pw") as user:
                assert user.collections.get(f"/{zone.zone}/home/{name}").name == name
            with pytest.raises(CAT_INVALID_AUTHENTICATION), \
                    iRODSSession(host=host, port=port, user=name, zone=zone.zone, password="wrong") as user:
                user.collections.get(f"/{zone.zone}/home/{name}")
        finally:
            admin.users.remove(name)
