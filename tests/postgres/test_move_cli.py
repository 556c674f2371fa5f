"""harbor-migrate upgrade/plan/status/verify with the 1.6.0 target, through the CLI, on a real MariaDB and PostgreSQL.

The MySQL side is our seeded Harbor 0.5.0 database; the PostgreSQL side a database owned
by an md5 login role, as Harbor 1.6.0 uses it. The password never appears in any output.
"""
from __future__ import annotations

import json

import pytest

from migrator import api
from migrator.chain.executor import UpgradeOptions
from migrator.errors import ExitCode
from migrator.mysql.connection import connect
from migrator.tools.local_server import free_port
from tests.helpers import run_cli

ROLE, PASSWORD = "harbor_mv", "mv-s3cret'pw"


def _my_args(settings) -> list[str]:
    return ["--socket", settings.unix_socket, "--user", settings.user, "--database", settings.database]


def _pg_dsn(local_pg, database: str, password: str = PASSWORD, port: int | None = None) -> str:
    return f"postgresql://{ROLE}:{password.replace(chr(39), '%27')}@127.0.0.1:{port or local_pg.port}/{database}"


@pytest.fixture
def target(local_pg, pg_dbs):
    """An empty database owned by Harbor's md5 role."""
    local_pg.create_role(ROLE, PASSWORD, md5=True)
    return pg_dbs.create("cli", owner=ROLE)


def mysql_fingerprint(settings) -> list[tuple]:
    with connect(settings) as db:
        tables = db.table_names()
        return [tuple(r) for r in db.query("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables) + " EXTENDED")]


def pg_contents(pg_dbs, name: str) -> list[str]:
    with pg_dbs.connect(name) as db:
        return db.table_names() + [r[0] for r in db.query(
            "SELECT relname FROM pg_class WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace")]


def _error_lines(err: str) -> int:
    """Lines on stderr besides the pre-flight's warnings: the error must be one line."""
    return len([line for line in err.strip().splitlines() if not line.startswith("pre-flight [warn]")])


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and "s3cret" not in text


def test_upgrade_to_160_then_status_and_verify(dbs_off, local_pg, pg_dbs, target, tmp_path):
    source = dbs_off.seeded("mv")
    dsn = _pg_dsn(local_pg, target)
    code, out, err = run_cli(["upgrade", *_my_args(source), "--to", "1.6.0", "--target-dsn", dsn, "--yes",
                              "--snapshot-dir", str(tmp_path)])
    assert code == 0, (out, err)
    _no_secret(out, err)
    assert "moved access_log:" in err and list(tmp_path.glob("*.manifest.json"))
    assert "Harbor 1.6.0" in out
    with connect(source) as db:
        assert db.query("SELECT version_num FROM alembic_version") == [("1.5.0",)]

    for args in (["--target-dsn", dsn], ["--dsn", dsn]):
        code, out, err = run_cli(["status", *args])
        assert code == 0, err
        assert "state:     1.6.0 — Harbor 1.6.0, schema as a fresh 1.6.0" in out
        _no_secret(out, err)

    code, out, err = run_cli(["verify", *_my_args(source), "--target-dsn", dsn])
    assert code == 0, (out, err)
    assert out.startswith(f"verify postgresql://{ROLE}:***@") and ": consistent" in out.splitlines()[0]
    assert "identical to a fresh 1.6.0" in out and "equal to the MySQL source" in out
    _no_secret(out, err)

    # The move is journaled: the next plan quotes it (scaled by rows), not the default rate.
    other = pg_dbs.create("cli_next", owner=ROLE)
    code, out, err = run_cli(["plan", *_my_args(source), "--to", "1.6.0", "--target-dsn", _pg_dsn(local_pg, other),
                              "--json"])
    assert code == 0, (out, err)
    planned = json.loads(out)
    assert planned["move_estimate"] == "journal" and planned["move_seconds"] > 0

    # A changed row is found, named by its key.
    with pg_dbs.connect(target) as db:
        db.execute("UPDATE project SET name = 'changed' WHERE project_id = 2")
    code, out, err = run_cli(["verify", *_my_args(source), "--target-dsn", dsn])
    assert code == ExitCode.VERIFY_FAILED, (out, err)
    assert "project: project_id 2 differs in name" in out

    # Rerun: MySQL already at 1.5.0, the target now holds 1.6.0: refused (exit 15), nothing changed.
    code, out, err = run_cli(["upgrade", *_my_args(source), "--to", "1.6.0", "--target-dsn", dsn, "--yes",
                              "--snapshot-dir", str(tmp_path)])
    assert code == ExitCode.TARGET_NOT_EMPTY and _error_lines(err) == 1, err


def test_a_half_done_move_is_recognised_and_resumed(dbs_off, local_pg, pg_dbs, target, tmp_path):
    from migrator.move.copy import move_database

    source = dbs_off.seeded("half")
    api.upgrade(source, UpgradeOptions())

    def stop(line: str) -> None:
        if line.startswith("moved role:"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        move_database(source, local_pg.settings(target, user=ROLE, password=PASSWORD), stop)
    dsn = _pg_dsn(local_pg, target)
    code, out, _ = run_cli(["status", "--target-dsn", dsn])
    assert code == 0 and "state:     moving — a half-done move (2 table(s) finished)" in out
    code, out, err = run_cli(["upgrade", *_my_args(source), "--to", "1.6.0", "--target-dsn", dsn, "--yes",
                              "--no-snapshot"])
    assert code == 0, err
    assert "resumed; 2 table(s) kept" in out
    code, out, err = run_cli(["verify", *_my_args(source), "--target-dsn", dsn])
    assert code == 0, out


def test_plan_names_the_rows_and_changes_nothing(dbs_off, local_pg, pg_dbs, target):
    source = dbs_off.seeded("plan")
    api.upgrade(source, UpgradeOptions())
    with connect(source) as db:
        # What Harbor's own MySQL chain leaves: image_digest without its unique key (goharbor/harbor#6550).
        for (index,) in db.query("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                                 "DATABASE() AND TABLE_NAME = 'img_scan_overview' AND COLUMN_NAME = 'image_digest'"):
            db.execute(f"ALTER TABLE img_scan_overview DROP INDEX `{index}`")
        # A properties.v widened by hand (1.5.0 declares varchar(128), as 1.6.0 does).
        db.execute("ALTER TABLE properties MODIFY v varchar(255) NOT NULL")
        db.execute("INSERT INTO properties (k, v) VALUES ('too_long', REPEAT('x', 200))")
        long_id = db.scalar("SELECT id FROM properties WHERE k = 'too_long'")
        for i in (7, 8):
            db.execute("INSERT INTO img_scan_overview (id, image_digest, scan_job_id, severity, components_overview, "
                       f"details_key) VALUES ({i}, 'sha256:dup', {i}, 1, '', '')")
    before_my, before_pg = mysql_fingerprint(source), pg_contents(pg_dbs, target)
    code, out, err = run_cli(["plan", *_my_args(source), "--to", "1.6.0", "--target-dsn", _pg_dsn(local_pg, target)])
    assert code == ExitCode.DATA_CONFLICT, (out, err)
    assert f"[fail] long_properties: 1 properties value(s) longer than 128 characters" in out
    assert f"properties id {long_id} (too_long): 200 characters" in out
    assert "img_scan_overview ids 7,8: image_digest sha256:dup" in out
    assert "[  ok] target_empty" in out and "[  ok] target_version: PostgreSQL" in out
    assert "step 1.6.0: move to PostgreSQL" in out and "  - access_log <- access_log: " in out
    assert "at a default rate; `rehearse --to 1.6.0` measures it" in out   # no move recorded for this database
    assert "estimate:" in out
    _no_secret(out, err)
    assert mysql_fingerprint(source) == before_my and pg_contents(pg_dbs, target) == before_pg == []


@pytest.mark.parametrize("case, expected", [
    ("wrong_password", ExitCode.AUTH), ("unreachable", ExitCode.CONNECTION),
    ("missing_database", ExitCode.DATABASE_MISSING), ("not_empty", ExitCode.TARGET_NOT_EMPTY),
])
def test_a_bad_target_changes_nothing_on_either_side(dbs_off, local_pg, pg_dbs, target, tmp_path, case, expected):
    source = dbs_off.seeded("bad")
    dsn = {"wrong_password": _pg_dsn(local_pg, target, password="not-it"),
           "unreachable": _pg_dsn(local_pg, target, port=free_port()),
           "missing_database": _pg_dsn(local_pg, "no_such_database"),
           "not_empty": _pg_dsn(local_pg, target)}[case]
    if case == "not_empty":
        with pg_dbs.connect(target) as db:
            db.execute(f"CREATE TABLE notes (id int); ALTER TABLE notes OWNER TO {ROLE}")
    before_my, before_pg = mysql_fingerprint(source), pg_contents(pg_dbs, target)
    for command in (["upgrade", "--yes", "--snapshot-dir", str(tmp_path)], ["plan", "--no-calibrate"]):
        code, out, err = run_cli([command[0], *_my_args(source), "--to", "1.6.0", "--target-dsn", dsn, *command[1:]])
        assert code == expected, (command, out, err)
        if command[0] == "upgrade":
            assert _error_lines(err) == 1 and err.splitlines()[-1].startswith("harbor-migrate: error: "), err
        assert "postgresql://" not in err or "***" in err
        _no_secret(out, err)
    assert mysql_fingerprint(source) == before_my and pg_contents(pg_dbs, target) == before_pg
    assert not list(tmp_path.iterdir())     # not even a snapshot


def test_160_without_a_target_is_a_usage_error(dbs_off, tmp_path):
    source = dbs_off.seeded("usage")
    for command in ("upgrade", "plan"):
        code, out, err = run_cli([command, *_my_args(source), "--to", "1.6.0", "--yes"][:None if command == "upgrade"
                                                                                       else -1])
        assert code == ExitCode.USAGE and "--target-dsn" in err, err
    code, _, err = run_cli(["upgrade", *_my_args(source), "--to", "1.5.2", "--target-dsn", "postgresql://x@h/db"])
    assert code == ExitCode.USAGE and "stays on MySQL" in err
