"""Path mapping: Windows-safe uploads, refused escapes on download."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from mango_transfer.errors import MangoError, UnsafePath
from mango_transfer.irods.paths import irods_join, irods_relative
from mango_transfer.localfs.paths import local_target, to_posix_relative


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        pytest.param(PureWindowsPath("a\\b\\c.txt"), "a/b/c.txt", id="windows-backslash"),
        pytest.param(PureWindowsPath("a/b"), "a/b", id="windows-forward"),
        pytest.param(PurePosixPath("a/b c/ü.txt"), "a/b c/ü.txt", id="posix-unicode-space"),
        pytest.param(PurePosixPath("a\\b"), "a\\b", id="posix-backslash-is-a-name-char"),
        pytest.param(PurePosixPath("."), "", id="dot"),
    ],
)
def test_to_posix_relative(relative: PurePosixPath | PureWindowsPath, expected: str) -> None:
    assert to_posix_relative(relative) == expected


@pytest.mark.parametrize("path", [PureWindowsPath("C:\\x"), PurePosixPath("/x")])
def test_to_posix_relative_rejects_absolute(path: PurePosixPath | PureWindowsPath) -> None:
    with pytest.raises(ValueError):
        to_posix_relative(path)


def test_irods_join() -> None:
    assert irods_join("/zone/home/u/", "a/b") == "/zone/home/u/a/b"
    assert irods_join("/zone/home/u", "") == "/zone/home/u"
    assert irods_join("/", "a") == "/a"


def test_irods_relative() -> None:
    assert irods_relative("/z/home/u/c", "/z/home/u/c/a/b.txt") == "a/b.txt"
    assert irods_relative("/z/home/u/c/", "/z/home/u/c") == ""
    with pytest.raises(ValueError):
        irods_relative("/z/home/u/c", "/z/home/u/cc/a")


def test_local_target_ok(tmp_path: Path) -> None:
    assert local_target(tmp_path, "a/b c/ü.txt") == tmp_path / "a" / "b c" / "ü.txt"
    assert local_target(tmp_path, "..a/b..") == tmp_path / "..a" / "b.."


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../x", id="dotdot"),
        pytest.param("a/../../x", id="inner-dotdot"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("a//b", id="empty-component"),
        pytest.param("a/./b", id="dot-component"),
        pytest.param("a\\..\\..\\x", id="backslash"),
        pytest.param("a\0b", id="nul"),
        pytest.param("", id="empty"),
        pytest.param("a/", id="trailing-slash"),
    ],
)
def test_local_target_refuses(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafePath) as info:
        local_target(tmp_path, name, windows=False)
    assert isinstance(info.value, MangoError)
    assert not info.value.retryable
    assert "\n" not in info.value.user_message()


@pytest.mark.parametrize("name", ["C:x", "a/b:stream", "CON", "nul.txt", "com1 .log"])
def test_local_target_refuses_windows_specials(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafePath):
        local_target(tmp_path, name, windows=True)
    local_target(tmp_path, name, windows=False)  # legal names on POSIX


@pytest.mark.parametrize("name", ["a<b", 'q"uote', "pipe|", "why?", "star*", "tab\tname",
                                  "dot.", "space ", "LPT1.log"])
def test_local_target_refuses_what_windows_cannot_hold(tmp_path: Path, name: str) -> None:
    assert local_target(tmp_path, name) == tmp_path / name  # fine on POSIX
    with pytest.raises(UnsafePath, match="Windows"):
        local_target(tmp_path, f"sub/{name}", windows=True)


@pytest.mark.parametrize(("name", "windows", "unit"), [
    ("x" * 256, False, "256 bytes"), ("é" * 128, False, "256 bytes"),
    ("x" * 256, True, "256 characters")])
def test_local_target_refuses_names_too_long(tmp_path: Path, name: str, windows: bool,
                                             unit: str) -> None:
    with pytest.raises(UnsafePath, match=unit):
        local_target(tmp_path, f"ok/{name}", windows=windows)
    assert local_target(tmp_path, "é" * 127, windows=windows)  # 254 bytes: fine


HOME, CWD = "/tempZone/home/alice", "/tempZone/home/alice/study"


@pytest.mark.parametrize(("typed", "expected"), [
    ("/tempZone/home/bob/x", "/tempZone/home/bob/x"),
    ("irods:/tempZone/home/bob/x/", "/tempZone/home/bob/x"),
    ("~", HOME), ("~/raw", f"{HOME}/raw"), ("irods:~/raw//2024/", f"{HOME}/raw/2024"),
    ("sub-01", f"{CWD}/sub-01"), ("irods:sub-01/anat", f"{CWD}/sub-01/anat"),
    (".", CWD), ("", CWD), ("../other", f"{HOME}/other"), ("./a/../b", f"{CWD}/b"),
    ("/../..", "/"), ("~user", f"{CWD}/~user"),
])
def test_remote_paths_as_icommands_read_them(typed: str, expected: str) -> None:
    from mango_transfer.engine.route import remote_path

    assert remote_path(typed, "the collection", home=HOME, cwd=CWD) == expected


@pytest.mark.parametrize("typed", ["C:\\data\\study", "D:/x", "E:", "\\\\nas\\lab\\raw"])
def test_a_windows_path_is_not_an_irods_path(typed: str) -> None:
    from mango_transfer.engine.route import remote_path

    with pytest.raises(MangoError, match="this looks like a Windows path"):
        remote_path(typed, "the collection", home=HOME, cwd=CWD)


def test_without_an_environment_only_absolute_paths() -> None:
    from mango_transfer.engine.route import remote_path

    with pytest.raises(MangoError, match="absolute iRODS path"):
        remote_path("relative", "the collection")


def test_a_tilde_the_shell_expanded_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from mango_transfer.engine.route import remote_path

    monkeypatch.setenv("HOME", "/home/alice")
    with pytest.raises(MangoError, match="the shell replaced ~"):
        remote_path("/home/alice/study", "the collection", home=HOME, cwd=CWD)
    assert remote_path("/home/alicia", "the collection", home=HOME, cwd=CWD) == "/home/alicia"
    monkeypatch.setenv("HOME", "/tempZone")  # a local home named like the zone: no guess
    assert remote_path("/tempZone/x", "c", home=HOME, cwd=CWD) == "/tempZone/x"
