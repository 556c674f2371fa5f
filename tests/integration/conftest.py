"""Fixtures shared by the integration tests."""
import pytest

from migrator import api
from migrator.chain.executor import UpgradeOptions
from migrator.mysql.connection import connect
from migrator.snapshot.take import take_snapshot


@pytest.fixture
def upgraded(dbs_off, tmp_path):
    """The seeded 0.5.0 database, snapshotted into tmp_path, then upgraded to head:
    (the database factory, its settings, the snapshot's manifest)."""
    settings = dbs_off.seeded()
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    api.upgrade(settings, UpgradeOptions())
    return dbs_off, settings, manifest
