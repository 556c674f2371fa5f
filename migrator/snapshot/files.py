"""The snapshot file as it is written: every byte hashed, and written out to disk as it grows."""
from __future__ import annotations

import ctypes
import functools
import hashlib
import queue
from typing import Callable

from ..common.worker import Worker

WRITEBACK_BYTES = 4 << 20   # written to the snapshot file between two requests to the kernel to write it out
_SYNC_FILE_RANGE_WRITE = 2


class HashingFile:
    """A file wrapper that hashes what is written (the dump file's SHA-256) and has the kernel
    start writing it to disk every ``WRITEBACK_BYTES``, so the final fsync waits only for the
    last of it (what RocksDB's ``bytes_per_sync`` does). The requests are made from a thread
    of their own: one may wait for the disk's queue, and the piece writing the file must not
    (docs/benchmarks.md). ``finish`` before the file is closed."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0
        self._written_back = 0
        self._requests: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        self._writeback: Worker | None = None

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        n = self.fh.write(data)
        if self.size - self._written_back >= WRITEBACK_BYTES:
            self.fh.flush()
            if self._writeback is None:
                self._writeback = Worker(self._write_back)
                self._writeback.name = "snapshot-writeback"
                self._writeback.start()
            self._requests.put((self._written_back, self.size - self._written_back))
            self._written_back = self.size
        return n

    def flush(self) -> None:
        self.fh.flush()

    def finish(self) -> None:
        """Wait for the writeback requests made so far (the file must stay open for them)."""
        if self._writeback is not None:
            self._requests.put(None)
            self._writeback.join()  # not result(): a hint that failed fails nothing, the fsync still comes
            self._writeback = None

    def _write_back(self) -> None:
        fd = self.fh.fileno()
        while (request := self._requests.get()) is not None:
            start_writeback(fd, *request)


@functools.lru_cache(maxsize=None)
def _sync_file_range() -> Callable[..., int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None  # not Linux: the final fsync does all the writing
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    return function


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to start writing these bytes out now, without waiting for it (Linux's
    ``sync_file_range``); whether it took the request. A hint: durability comes from fsync."""
    function = _sync_file_range()
    return function is not None and function(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0
