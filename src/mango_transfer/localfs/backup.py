"""``--backup-dir DIR``: a local file that a run overwrites or deletes is moved into DIR, under
its path relative to the destination folder (rclone's and rsync's meaning), so nothing local is
lost by a mistaken download or ``sync --delete``. An older backup of the same name is replaced.

- A deletion moves the file: a rename when DIR is on the same file system, else a copy (to a
  hidden temporary beside the backup, renamed when complete) and then the removal.
- An overwrite keeps the old file before the new one is renamed over it: :func:`keep_old`
  makes a hard link to it under a hidden temporary name in DIR (a copy across file systems),
  which :meth:`Kept.commit` renames to its backup name once the new file is in place, and
  :meth:`Kept.discard` removes when the download failed (the old file is still in place then).
  The download itself never writes into the old file (``localfs/partial.py``: a partial name,
  renamed), so the link holds the old bytes.

Symbolic links are kept as links, never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mango_transfer.errors import UsageError
from mango_transfer.localfs.portable import replace

__all__ = ["Kept", "check_backup_dir", "keep_old", "move_to_backup"]

_NO_LINK = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP)  # a copy will do


def check_backup_dir(backup: Path, destination: Path) -> None:
    """Refuse a backup folder inside the destination folder, or holding it: the run would
    list its own backups as destination files (and ``--delete`` would remove them)."""
    inside = backup.resolve()
    folder = destination.resolve()
    if inside == folder or folder in inside.parents or inside in folder.parents:
        raise UsageError("--backup-dir must be outside the destination folder", path=backup,
                         hint=f"choose a folder that is neither inside nor above {destination}")


def _temporary_beside(target: Path) -> Path:
    """A fresh hidden name in ``target``'s folder (made when missing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".bak")
    os.close(fd)
    os.unlink(name)
    return Path(name)


def _copy_beside(source: Path, target: Path) -> Path:
    """``source`` linked (or, across file systems, copied) to a temporary beside ``target``."""
    temporary = _temporary_beside(target)
    try:
        os.link(source, temporary, follow_symlinks=False)
    except (OSError, NotImplementedError) as exc:  # another disk, no links, or Windows
        if isinstance(exc, OSError) and exc.errno not in _NO_LINK:
            raise
        shutil.copy2(source, temporary, follow_symlinks=False)
    return temporary


def move_to_backup(file: Path, backup: Path) -> None:
    """Move ``file`` to ``backup``, replacing an older backup (blocking)."""
    backup.parent.mkdir(parents=True, exist_ok=True)
    try:
        replace(file, backup)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    temporary = _copy_beside(file, backup)
    replace(temporary, backup)
    file.unlink()


@dataclass(frozen=True)
class Kept:
    """The old bytes of a file about to be overwritten, held under a temporary name."""

    temporary: Path
    backup: Path

    def commit(self) -> None:
        """The new file is in place: the old one takes its backup name."""
        replace(self.temporary, self.backup)

    def discard(self) -> None:
        """The overwrite did not happen: the old file is still in place, drop the copy."""
        with contextlib.suppress(FileNotFoundError):
            self.temporary.unlink()


def keep_old(file: Path, backup: Path) -> Kept | None:
    """Hold ``file``'s current bytes for ``backup`` (blocking); None when there is no file."""
    if not os.path.lexists(file) or os.path.isdir(file) and not os.path.islink(file):
        return None
    return Kept(_copy_beside(file, backup), backup)
