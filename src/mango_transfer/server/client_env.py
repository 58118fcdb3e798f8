"""Writes the client side of the embedded zone: irods_environment.json and .irodsA.

Both are written atomically (temp file + rename) so a client polling for them never reads half a
file, and ``.irodsA`` is 0600 and obfuscated exactly as ``iinit`` does (PRC's own encoder).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from irods.password_obfuscation import encode


def atomic_write(path: Path, data: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def environment(host: str, port: int, zone: str, user: str, resource: str,
                policy: str, ca_file: Path | None) -> dict[str, object]:
    env: dict[str, object] = {
        "irods_host": host,
        "irods_port": port,
        "irods_zone_name": zone,
        "irods_user_name": user,
        "irods_authentication_scheme": "native",
        "irods_client_server_negotiation": "request_server_negotiation",
        "irods_client_server_policy": policy,
        "irods_default_resource": resource,
        "irods_home": f"/{zone}/home/{user}",
        "irods_cwd": f"/{zone}/home/{user}",
    }
    if ca_file is not None:
        env.update({
            "irods_ssl_ca_certificate_file": str(ca_file),
            "irods_ssl_verify_server": "cert",
            "irods_encryption_algorithm": "AES-256-CBC",
            "irods_encryption_key_size": 32,
            "irods_encryption_num_hash_rounds": 16,
            "irods_encryption_salt_size": 8,
        })
    return env


def write_client_files(directory: Path, env: dict[str, object], password: str) -> tuple[Path, Path]:
    env_file, auth_file = directory / "irods_environment.json", directory / ".irodsA"
    atomic_write(auth_file, encode(password, uid=os.getuid()), mode=0o600)
    atomic_write(env_file, json.dumps(env, indent=2) + "\n")
    return env_file, auth_file
