"""Who may read what helpdeskd writes: its owner only.

Decides the file modes of everything helpdeskd creates. The state directory holds raw customer
mail (the database), so it is 0700 and each file we create in it or in the outbox is 0600,
whatever umask the process started with (outside systemd a login shell's 0022 made the
database readable by every local user). Two layers: the command line sets umask 0077 at start,
which covers every file any library creates (SQLite's -wal/-shm, the Whoosh index, lock files);
and the store and the outbox set the modes themselves when they create or open their files,
so a program that uses helpdeskd as a library gets the same.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> None:
    """Make every file this process creates from now on private (the CLI calls it first)."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) and make it 0700 when it is ours to change."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    restrict(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists, and make it 0600."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    restrict(path, FILE_MODE)


def restrict(path: Path, mode: int) -> None:
    """chmod `path` to `mode` if it is not already; a file we do not own (a shared folder a
    sysadmin prepared) is left as it is rather than failing the start."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except PermissionError:
        return
    except FileNotFoundError:
        return
