"""Windows path logic, tested on Linux with ``PureWindowsPath`` (CI has no Windows runner).

Drive letters and UNC shares as sources and destinations: the relative names sent to iRODS
never carry a backslash, a remote name lands inside the destination folder of the same flavour
or is refused with the reason, and the state folder is where Windows keeps per-user state.
"""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath

import pytest

from mango_transfer.engine.resume import default_state_dir
from mango_transfer.engine.route import is_remote, remote_path, sync_direction
from mango_transfer.errors import MangoError, UnsafePath
from mango_transfer.irods.paths import irods_join
from mango_transfer.localfs import portable
from mango_transfer.localfs.paths import (
    local_target,
    looks_like_windows_path,
    to_posix_relative,
    windows_drive_or_unc,
)

COLLECTION = "/tempZone/home/lab/study"


@pytest.mark.parametrize(("root", "file", "relative"), [
    (r"C:\data\study", r"C:\data\study\sub-01\anat\T1w.nii.gz", "sub-01/anat/T1w.nii.gz"),
    ("D:\\", r"D:\raw\ses 1\é.tsv", "raw/ses 1/é.tsv"),
    (r"\\nas.kuleuven.be\lab\study", r"\\nas.kuleuven.be\lab\study\a\b.json", "a/b.json"),
    (r"C:\data", r"c:\DATA\x.txt", "x.txt"),  # Windows compares paths without case
])
def test_a_windows_source_reaches_irods_with_slashes_only(root: str, file: str,
                                                           relative: str) -> None:
    name = to_posix_relative(PureWindowsPath(file).relative_to(PureWindowsPath(root)))
    assert name == relative
    target = irods_join(COLLECTION, name)
    assert "\\" not in target and target == f"{COLLECTION}/{relative}"


@pytest.mark.parametrize("dest", [r"C:\Users\lab\Downloads\study", r"\\nas\share\restore",
                                  "E:\\"])
def test_a_remote_name_lands_inside_a_windows_destination(dest: str) -> None:
    base = PureWindowsPath(dest)
    target = local_target(base, "sub-01/anat/T1w.nii.gz", windows=True)
    assert isinstance(target, PureWindowsPath)
    assert target == base / "sub-01" / "anat" / "T1w.nii.gz"
    assert str(target).startswith(str(base).rstrip("\\"))


@pytest.mark.parametrize(("name", "why"), [
    ("..\\..\\Windows\\evil.dll", "backslash"), ("../up.txt", "'..'"),
    ("C:/x", "':'"), ("sub/a:stream", "':'"), ("sub/CON", "device name"),
    ("sub/nul.txt", "device name"), ("sub/name.", "dot or a space"),
    ("sub/what?.txt", "'?'"), ("a" * 256, "256 characters"),
])
def test_a_remote_name_windows_cannot_hold_is_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(UnsafePath, match=why):
        local_target(PureWindowsPath(r"C:\out"), name, windows=True)


@pytest.mark.parametrize(("text", "drive_or_unc", "windows_like"), [
    (r"C:\data", True, True), ("c:/data", True, True), ("Z:", True, True),
    (r"\\nas\share\x", True, True), (r"data\sub-01", False, True),
    ("/home/lab/data", False, False), ("data/sub-01", False, False),
    ("irods:/tempZone/home", False, False), ("~/study", False, False),
])
def test_what_counts_as_a_windows_path(text: str, drive_or_unc: bool, windows_like: bool) -> None:
    assert windows_drive_or_unc(text) is drive_or_unc
    assert looks_like_windows_path(text) is windows_like


@pytest.mark.parametrize("local", [r"C:\data\study", r"\\nas\lab\study", r"D:/acq"])
def test_a_drive_or_unc_path_is_the_local_side_of_sync(local: str) -> None:
    assert not is_remote(local, "tempZone")
    assert sync_direction(local, "irods:study", "tempZone") == "upload"
    assert sync_direction("irods:~/study", local, "tempZone") == "download"
    with pytest.raises(MangoError, match="Windows path"):
        remote_path(local, "the iRODS side", home="/tempZone/home/lab", cwd="/tempZone/home/lab")


def test_the_state_folder_on_windows_is_localappdata() -> None:
    local = r"C:\Users\lab\AppData\Local"
    assert default_state_dir({"LOCALAPPDATA": local}, windows=True).parent == Path(local)
    assert default_state_dir({"LOCALAPPDATA": local, "XDG_STATE_HOME": "/s"},
                             windows=True) == Path("/s/mango-transfer")
    assert default_state_dir({"LOCALAPPDATA": local}, windows=False).parts[-3:] == (
        ".local", "state", "mango-transfer")


def test_files_are_opened_in_binary_mode_and_renamed_portably(tmp_path: Path) -> None:
    assert portable.BINARY == getattr(os, "O_BINARY", 0)  # text mode would turn \n into \r\n
    fd = os.open(tmp_path / "f", os.O_CREAT | os.O_WRONLY | portable.BINARY, 0o600)
    portable.restrict(fd)
    os.write(fd, b"a\nb\r\n")
    os.close(fd)
    portable.replace(tmp_path / "f", tmp_path / "g")
    assert (tmp_path / "g").read_bytes() == b"a\nb\r\n" and not (tmp_path / "f").exists()
