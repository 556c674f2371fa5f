"""Harbor's own chain 0.4.0 -> 1.2.0 -> 1.3.0 -> 1.4.0 -> 1.5.0, as the benchmarks replay it.

This is our rendering of what harbor-facts §2.5–2.8 records Harbor's alembic revisions
emitting, statement by statement and in their order, on a stock 0.5.0 database: no backup,
the per-user UPDATEs of 1.2.0 one by one inside one transaction (each preceded by the ORM's
SELECT of the matching log ids), the per-row INSERTs of 1.3.0 and 1.4.0 one by one. It is
not Harbor's code: it is what a DBA running Harbor's migrator image waits for, without the
container start and the Python/SQLAlchemy overhead (so Harbor's real chain is, if anything,
slower). The timing is the point, not the result: like Harbor, the 1.2.0 step resets the
auto-updating ``op_time`` of every log row it names a user in.

Two departures, both needed to get through on the data our generator makes:
- ``img_scan_job`` is created as Harbor 1.2.0's own model had it (no ``job_uuid``), so that
  1.5.0's ``ADD COLUMN job_uuid`` does not fail with 1060 as it does when a ≥1.5 tool
  replays 1.2.0 (harbor-facts §2.8, 16);
- ``SET SESSION foreign_key_checks`` and the server's options are left as they are.
"""
from __future__ import annotations

import time
from typing import Callable

# Harbor's 1.2.0 on access_log alone (harbor-facts §2.5), the per-user UPDATEs written as one
# join UPDATE: bench_upgrade.py's reference beside our own 1.2.0 step.
HARBOR_120_ACCESS_LOG = (
    ("drop FK access_log_ibfk_1", "ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_1"),
    ("drop FK access_log_ibfk_2", "ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_2"),
    ("add username last", "ALTER TABLE access_log ADD COLUMN username VARCHAR(255) NOT NULL"),
    ("UPDATE username = ''", "UPDATE access_log SET username = ''"),
    ("join UPDATE username", "UPDATE access_log a JOIN user u ON a.user_id = u.user_id SET a.username = u.username"),
    ("drop user_id", "ALTER TABLE access_log DROP COLUMN user_id"),
)

_TIMES = ("creation_time TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP, "
          "update_time TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")

# Each revision: a list of items, each (label, SQL) or (label, callable(db) -> None) for the
# data steps that loop over rows as Harbor's ORM does.


def _fill_usernames(db) -> None:
    """1.2.0 step 5: per user (deleted ones and anonymous included), the ORM's SELECT of the
    matching log ids, then one UPDATE; one transaction for the whole step, with step 4."""
    for user_id, username in db.query("SELECT user_id, username FROM user"):
        db.query("SELECT log_id FROM access_log WHERE user_id = %s", (user_id,))
        db.execute("UPDATE access_log SET username = %s WHERE user_id = %s", (username, user_id))


def _project_metadata(db, publics) -> None:
    for project_id, public in publics:
        db.execute("INSERT INTO project_metadata (project_id, name, value) VALUES (%s, 'public', %s)",
                   (project_id, "true" if public else "false"))


def _immediate_triggers(db) -> None:
    """1.4.0 step 5 (standalone): a trigger per enabled policy, soft-deleted ones included."""
    for policy_id, project_id in db.query("SELECT id, project_id FROM replication_policy WHERE enabled = 1"):
        name = db.query("SELECT name FROM project WHERE project_id = %s", (project_id,))[0][0]
        db.execute("INSERT INTO replication_immediate_trigger (policy_id, namespace, on_push, on_deletion) "
                   "VALUES (%s, %s, 1, 1)", (policy_id, name))


def _rev_120() -> list:
    return [
        ("user.realname MODIFY", "ALTER TABLE user MODIFY realname VARCHAR(255) NULL"),
        ("access_log drop FK 1", "ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_1"),
        ("access_log drop FK 2", "ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_2"),
        ("access_log add username last", "ALTER TABLE access_log ADD COLUMN username VARCHAR(255) NOT NULL"),
        ("begin", "START TRANSACTION"),
        ("UPDATE access_log SET username = ''", "UPDATE access_log SET username = ''"),
        ("per-user SELECT + UPDATE access_log", _fill_usernames),
        ("commit", "COMMIT"),
        ("user.username MODIFY", "ALTER TABLE user MODIFY username VARCHAR(255) NULL"),
        ("replication_target.username MODIFY", "ALTER TABLE replication_target MODIFY username VARCHAR(255) NULL"),
        ("access_log drop user_id", "ALTER TABLE access_log DROP COLUMN user_id"),
        ("repository drop owner_id", "ALTER TABLE repository DROP COLUMN owner_id"),
        ("create img_scan_job", "CREATE TABLE img_scan_job (id INT NOT NULL AUTO_INCREMENT, status VARCHAR(64) "
         "NOT NULL, repository VARCHAR(256) NOT NULL, tag VARCHAR(128) NOT NULL, digest VARCHAR(128) NULL, "
         f"{_TIMES}, PRIMARY KEY (id))"),
        ("create img_scan_overview", "CREATE TABLE img_scan_overview (id INT NOT NULL AUTO_INCREMENT, "
         "image_digest VARCHAR(128) NOT NULL, scan_job_id INT NOT NULL, severity INT NOT NULL DEFAULT '0', "
         f"components_overview VARCHAR(2048), details_key VARCHAR(128), {_TIMES}, PRIMARY KEY (id))"),
        ("create clair_vuln_timestamp", "CREATE TABLE clair_vuln_timestamp (id INT NOT NULL AUTO_INCREMENT, "
         "namespace VARCHAR(128) NOT NULL, last_update TIMESTAMP NULL, PRIMARY KEY (id), UNIQUE (namespace))"),
        ("version", "UPDATE alembic_version SET version_num = '1.2.0'"),
    ]


def _rev_130() -> list:
    state: dict = {}

    def read_public(db):
        state["publics"] = db.query("SELECT project_id, public FROM project")

    return [
        ("SHOW COLUMNS user.username", "SHOW COLUMNS FROM user WHERE field = 'username'"),
        ("create project_metadata", "CREATE TABLE project_metadata (id INT NOT NULL AUTO_INCREMENT, project_id INT "
         "NOT NULL, name VARCHAR(255) NOT NULL, value VARCHAR(255) NULL, "
         f"{_TIMES}, deleted TINYINT(1) NOT NULL DEFAULT '0', PRIMARY KEY (id), "
         "CONSTRAINT unique_project_id_and_name UNIQUE (project_id, name), "
         "FOREIGN KEY (project_id) REFERENCES project (project_id))"),
        ("read project.public", read_public),
        ("project drop public", "ALTER TABLE project DROP COLUMN public"),
        ("replication_target add insecure",
         "ALTER TABLE replication_target ADD COLUMN insecure TINYINT(1) NOT NULL DEFAULT '0'"),
        ("per-project INSERT project_metadata", lambda db: _project_metadata(db, state["publics"])),
        ("version", "UPDATE alembic_version SET version_num = '1.3.0'"),
    ]


def _rev_140() -> list:
    return [
        ("project.name MODIFY", "ALTER TABLE project MODIFY name VARCHAR(255) NOT NULL"),
        ("replication_policy add filters", "ALTER TABLE replication_policy ADD COLUMN filters VARCHAR(1024)"),
        ("replication_policy add replicate_deletion",
         "ALTER TABLE replication_policy ADD COLUMN replicate_deletion TINYINT(1) NOT NULL DEFAULT '0'"),
        ("create replication_immediate_trigger", "CREATE TABLE replication_immediate_trigger (id INT NOT NULL "
         "AUTO_INCREMENT, policy_id INT NOT NULL, namespace VARCHAR(256) NOT NULL, on_push TINYINT(1) NOT NULL "
         f"DEFAULT '0', on_deletion TINYINT(1) NOT NULL DEFAULT '0', {_TIMES}, PRIMARY KEY (id))"),
        ("policies Immediate",
         "UPDATE replication_policy SET cron_str = '{\"kind\":\"Immediate\"}' WHERE enabled = 1"),
        ("per-policy INSERT trigger", _immediate_triggers),
        ("policies Manual",
         "UPDATE replication_policy SET enabled = 1, cron_str = '{\"kind\":\"Manual\"}' WHERE enabled = 0"),
        ("properties drop PK", "ALTER TABLE properties DROP PRIMARY KEY"),
        ("properties unique k", "ALTER TABLE properties ADD CONSTRAINT uq_properties_k UNIQUE (k)"),
        ("properties add id", "ALTER TABLE properties ADD id INT PRIMARY KEY AUTO_INCREMENT"),
        ("version", "UPDATE alembic_version SET version_num = '1.4.0'"),
    ]


def _rev_150() -> list:
    pm = "ALTER TABLE project_member "
    return [
        ("create harbor_label", "CREATE TABLE harbor_label (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(128) NOT "
         "NULL, description TEXT, color VARCHAR(16), level VARCHAR(1) NOT NULL, scope VARCHAR(1) NOT NULL, "
         f"project_id INT NOT NULL, {_TIMES}, PRIMARY KEY (id), "
         "CONSTRAINT unique_label UNIQUE (name, scope, project_id))"),
        ("create harbor_resource_label", "CREATE TABLE harbor_resource_label (id INT NOT NULL AUTO_INCREMENT, "
         "label_id INT NOT NULL, resource_id INT NULL, resource_name VARCHAR(256) NULL, resource_type VARCHAR(1) "
         f"NOT NULL, {_TIMES}, PRIMARY KEY (id), CONSTRAINT unique_label_resource "
         "UNIQUE (label_id, resource_id, resource_name, resource_type))"),
        ("create user_group", "CREATE TABLE user_group (id INT NOT NULL AUTO_INCREMENT, group_name VARCHAR(128) "
         f"NOT NULL, group_type INT DEFAULT '0', ldap_group_dn VARCHAR(512) NOT NULL, {_TIMES}, PRIMARY KEY (id))"),
        ("project_member drop FK 1", pm + "DROP FOREIGN KEY project_member_ibfk_1"),
        ("project_member drop FK 2", pm + "DROP FOREIGN KEY project_member_ibfk_2"),
        ("project_member drop FK 3", pm + "DROP FOREIGN KEY project_member_ibfk_3"),
        ("project_member drop PK", pm + "DROP PRIMARY KEY"),
        ("project_member drop index user_id", "DROP INDEX user_id ON project_member"),
        ("project_member drop index role", "DROP INDEX `role` ON project_member"),
        ("project_member add id", pm + "ADD id INT PRIMARY KEY AUTO_INCREMENT"),
        ("project_member user_id -> entity_id", pm + "CHANGE user_id entity_id INTEGER NOT NULL"),
        ("project_member creation_time default", pm + "ALTER COLUMN creation_time SET DEFAULT CURRENT_TIMESTAMP"),
        ("project_member update_time default", pm + "ALTER COLUMN update_time SET DEFAULT CURRENT_TIMESTAMP"),
        ("project_member add entity_type", pm + "ADD COLUMN entity_type VARCHAR(1)"),
        ("project_member entity_type = 'u'", "UPDATE project_member SET entity_type = 'u'"),
        ("project_member entity_type NOT NULL", pm + "MODIFY entity_type VARCHAR(1) NOT NULL"),
        ("project_member unique", pm + "ADD CONSTRAINT unique_project_entity_type "
         "UNIQUE (project_id, entity_id, entity_type)"),
        ("replication_job add job_uuid", "ALTER TABLE replication_job ADD COLUMN job_uuid VARCHAR(64)"),
        ("img_scan_job add job_uuid", "ALTER TABLE img_scan_job ADD COLUMN job_uuid VARCHAR(64)"),
        ("replication_job index poid_status", "CREATE INDEX poid_status ON replication_job (policy_id, status)"),
        ("img_scan_job index idx_status", "CREATE INDEX idx_status ON img_scan_job (status)"),
        ("img_scan_job index idx_digest", "CREATE INDEX idx_digest ON img_scan_job (digest)"),
        ("img_scan_job index idx_uuid", "CREATE INDEX idx_uuid ON img_scan_job (job_uuid)"),
        ("img_scan_job index idx_repository_tag", "CREATE INDEX idx_repository_tag ON img_scan_job (repository, tag)"),
        ("version", "UPDATE alembic_version SET version_num = '1.5.0'"),
    ]


REVISIONS = (("1.2.0", _rev_120), ("1.3.0", _rev_130), ("1.4.0", _rev_140), ("1.5.0", _rev_150))


def run_chain(db, say: Callable[[str], None] = lambda _: None) -> dict[str, dict[str, float]]:
    """Replay Harbor's chain on ``db`` (a ``migrator.mysql`` Database at 0.4.0, autocommit);
    returns the seconds of each item, per revision."""
    out: dict[str, dict[str, float]] = {}
    for revision, items in REVISIONS:
        timings: dict[str, float] = {}
        for label, action in items():
            t0 = time.perf_counter()
            if callable(action):
                action(db)
            elif action.startswith("SHOW"):
                db.query(action)
            else:
                db.execute(action)
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - t0
        out[revision] = timings
        say(f"      harbor {revision}: {sum(timings.values()):.2f}s")
    return out
