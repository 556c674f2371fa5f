"""The PostgreSQL engine adapter (Harbor 1.6.0's database): the only package importing psycopg.

``settings`` parses and masks a target's DSN (no driver: resolving ``--target-dsn`` must not
load psycopg), ``connection`` reaches a server (errors mapped to ours), ``introspect`` reads a
schema into plain dataclasses, ``compare`` names the differences between two. Import the
module you need; this package loads nothing by itself.
"""
