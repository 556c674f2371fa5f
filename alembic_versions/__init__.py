"""Harbor's revision chain as alembic scripts (ids as Harbor's: 0.4.0 -> 1.2.0 -> … -> 1.5.0).

harbor-migrate runs the same operations itself (with probes, snapshots and a
journal); these scripts let alembic's own CLI run them too, and let
``migrator.chain.scripts`` read the chain from alembic's ScriptDirectory.
"""
import pathlib

SCRIPT_LOCATION = str(pathlib.Path(__file__).resolve().parent)
