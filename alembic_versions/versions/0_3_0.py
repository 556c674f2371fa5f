"""Harbor 0.3.0.

Schema: user.email varchar(128); access_log.repo_name varchar(256) and
repo_tag; replication_policy, replication_target, replication_job.

Revision ID: 0.3.0
Revises: 0.1.1
"""

revision = '0.3.0'
down_revision = '0.1.1'
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
