"""The snapshot file format: what ``snapshot`` writes and ``restore`` and ``verify`` read.

A snapshot is two files side by side, both readable by their owner only:

- ``NAME.sql.zst``: the SQL text of ``mariadb-dump --single-transaction`` (or
  ``mysqldump``) as the client wrote it, zstd-compressed, one zstd frame per piece
  (``zstd -dc NAME.sql.zst | mysql DB`` loads it without us);
- ``NAME.manifest.json``: server and settings, revision, per table its DDL, row
  count and the SHA-256 of its rows as the dump client renders them, per piece the
  same with its frame and character set, the file's SHA-256, and the projections
  ``verify`` compares after the upgrade (``manifest.Manifest``).

This package only reads and describes those files (``manifest``, ``frames``); it
never talks to a server, so ``snapshot`` and ``verify`` both import it and never
each other.
"""
