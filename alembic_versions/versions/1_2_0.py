"""Harbor 1.2.0.

Schema: user.username and realname varchar(255) (realname NOT NULL);
access_log loses its foreign keys and user_id and gains username (second
column); repository loses owner_id; replication_target.username varchar(255);
new tables img_scan_job, img_scan_overview (unique image_digest),
clair_vuln_timestamp.
Data: access_log.username from user (deleted users: their stored name; rows of
users that no longer exist: ''); op_time kept as it was.

Revision ID: 1.2.0
Revises: 0.4.0
"""

revision = '1.2.0'
down_revision = '0.4.0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """See the module docstring for the schema and data changes."""
    from migrator.chain.alembic_entry import run_revision

    run_revision(revision)


def downgrade() -> None:
    """There is no way back through DDL: restore the snapshot taken before the upgrade."""
    from migrator.chain.alembic_entry import no_downgrade

    no_downgrade(revision)
