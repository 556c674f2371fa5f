"""The snapshot file as it is written: every byte hashed, and handed to the kernel to write
out as the file grows, so that the final fsync has little left to wait for (no server needed)."""
from __future__ import annotations

import hashlib
import os
import sys

from migrator.snapshot import files as snapshot


def test_written_bytes_are_hashed_and_handed_to_the_kernel_in_order_once_flushed(tmp_path, monkeypatch):
    asked = []
    real = snapshot.start_writeback

    def recording(fd: int, offset: int, length: int) -> bool:
        asked.append((offset, length, os.fstat(fd).st_size))
        return real(fd, offset, length)

    monkeypatch.setattr(snapshot, "WRITEBACK_BYTES", 1000)
    monkeypatch.setattr(snapshot, "start_writeback", recording)
    blocks = [os.urandom(n) for n in (10, 999, 1, 2500, 7, 1000, 3)]
    with open(tmp_path / "dump", "wb") as fh:
        out = snapshot.HashingFile(fh)
        for block in blocks:
            out.write(block)
        out.finish()  # the requests are made by a thread of their own; this waits for them
    data = b"".join(blocks)
    assert (tmp_path / "dump").read_bytes() == data
    assert out.size == len(data) and out.sha.hexdigest() == hashlib.sha256(data).hexdigest()
    # contiguous ranges from the start, each asked for once at least WRITEBACK_BYTES had
    # accumulated, and only once those bytes were in the file (not in Python's buffer)
    assert [(o, n) for o, n, _ in asked] == [(0, 1009), (1009, 2501), (3510, 1007)]
    assert all(size >= offset + length for offset, length, size in asked)


def test_the_kernel_takes_the_writeback_request_on_linux(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 8192)
    with open(path, "rb+") as fh:
        taken = snapshot.start_writeback(fh.fileno(), 0, 8192)
    assert taken is sys.platform.startswith("linux")
