"""A small disk that a test can fill and empty again, under a real `modemgate serve`.

Where this process may mount (root, as in CI), it is a tmpfs of a few MB mounted on an empty
directory, filled by a file that takes every free block: the gateway's next write that needs
space fails with ENOSPC, as on a full disk. Where mounting is not allowed, the directory is
plain, and "full" is a file-size limit (RLIMIT_FSIZE, via prlimit) on the process writing
there: a write past a file's current size fails with EFBIG, which SQLite reports as the same
"database or disk is full". Either way nothing in the gateway knows it is a test.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import subprocess
from pathlib import Path
from types import TracebackType

__all__ = ["SmallDisk"]

_CHUNK = 64 * 1024


class SmallDisk:
    """`with SmallDisk(path) as disk:` … `disk.fill(pid)` … `disk.free(pid)`."""

    def __init__(self, path: Path, *, size_mb: int = 16) -> None:
        self.path = path
        self.size_mb = size_mb
        self.mounted = False
        self._filler = path / "filler"
        self._limited: tuple[int, int] | None = None  # the limit prlimit replaced

    def __enter__(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m", "tmpfs", str(self.path)],
                capture_output=True,
                check=False,
            )
        except OSError:  # no mount command
            return self
        self.mounted = done.returncode == 0
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.mounted:
            # Lazy: a process that still has a file open there lets go when it exits.
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)

    @property
    def how(self) -> str:
        return f"a {self.size_mb} MB tmpfs, filled" if self.mounted else "a file-size limit on the gateway process"

    def fill(self, pid: int) -> None:
        """No more space for `pid`'s files from now on."""
        if not self.mounted:
            self._limited = resource.prlimit(pid, resource.RLIMIT_FSIZE)
            # No file of it grows past the smallest of the database and its journal: neither
            # of those two can grow. (SQLite's shared-memory index keeps its size.)
            sizes = [f.stat().st_size for f in self.path.iterdir() if f.is_file() and not f.name.endswith("-shm")]
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (min(sizes, default=0), self._limited[1]))
            return
        block = b"\0" * _CHUNK
        with open(self._filler, "wb", buffering=0) as f:
            with contextlib.suppress(OSError):
                while True:
                    f.write(block)
            step = 4096
            while step:  # the last few blocks, in smaller writes
                try:
                    f.write(b"\0" * step)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    step //= 2

    def free(self, pid: int) -> None:
        """Space again."""
        if not self.mounted:
            if self._limited is not None:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, self._limited)
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._filler)
