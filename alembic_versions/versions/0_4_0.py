"""Harbor 0.4.0 (also 0.4.5, 0.5.0, 1.1.x).

Schema: user.username varchar(32), email varchar(255); project.name
varchar(41); replication_target.password varchar(128); replication_policy.deleted;
indexes pid_optime and poid_uptime; the repository table.

Revision ID: 0.4.0
Revises: 0.3.0
"""

revision = '0.4.0'
down_revision = '0.3.0'
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
