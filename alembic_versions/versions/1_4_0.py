"""Harbor 1.4.0.

Schema: project.name varchar(255); replication_policy gains filters and
replicate_deletion (before start_time); replication_immediate_trigger;
properties gets id as first column and primary key, k unique (one ALTER).
Data: enabled policies get cron_str {"kind":"Immediate"} and an immediate
trigger on their project's namespace (on_push, on_deletion); disabled ones
become enabled with {"kind":"Manual"}; properties ids in k order.

Revision ID: 1.4.0
Revises: 1.3.0
"""

revision = '1.4.0'
down_revision = '1.3.0'
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
