"""Harbor 1.3.0.

Schema: project_metadata (unique project_id+name, FK to project); project
loses public; replication_target gains insecure (before the timestamps).
Data: one project_metadata row ('public', 'true'/'false') per project,
soft-deleted ones included, copied before project.public is dropped.

Revision ID: 1.3.0
Revises: 1.2.0
"""

revision = '1.3.0'
down_revision = '1.2.0'
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
