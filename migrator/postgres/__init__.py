"""The PostgreSQL engine adapter (Harbor 1.6.0's database): the only package importing psycopg.

``connection`` reaches a server (settings, DSN, errors), ``introspect`` reads a
schema into plain dataclasses, ``compare`` names the differences between two.
"""
from .connection import PgDatabase, PgSettings, connect_pg, parse_pg_dsn

__all__ = ["PgDatabase", "PgSettings", "connect_pg", "parse_pg_dsn"]
