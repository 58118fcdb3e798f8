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
