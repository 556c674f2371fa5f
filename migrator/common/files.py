"""Files only their owner may read: snapshots, manifests, journals, reports, password files.

Created with mode 0600 by ``os.open`` itself, so there is no moment at which another user
could open them (a chmod after creating would leave one).
"""
from __future__ import annotations

import os

PRIVATE_MODE = 0o600


def open_private(path: str | os.PathLike, *, exclusive: bool = True, append: bool = False,
                 truncate: bool = False) -> int:
    """A descriptor for writing ``path``, created 0600; ``exclusive`` refuses an existing file."""
    flags = os.O_WRONLY | os.O_CREAT
    if exclusive:
        flags |= os.O_EXCL
    if append:
        flags |= os.O_APPEND
    if truncate:
        flags |= os.O_TRUNC
    return os.open(path, flags, PRIVATE_MODE)


def write_private(path: str | os.PathLike, data: str | bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` (replacing its contents unless ``exclusive``), owner-only."""
    raw = data.encode() if isinstance(data, str) else data
    fd = open_private(path, exclusive=exclusive, truncate=not exclusive)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
