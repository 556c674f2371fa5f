"""Harbor 0.1.1.

Schema: properties (k, v); alembic_version; role.role_mask; user.sysadmin_flag,
creation_time, update_time; project.update_time; project_member replaces
project_role and user_project_role.
Data: one member per (project, user) with the highest role it had, each keeping
its privilege level (Harbor's own script demotes every member one level);
sysadmin_flag = 1 for holders of the old sysAdmin role; role and access lose
their first row and are renumbered; properties schema_version = 0.1.1.

Revision ID: 0.1.1
Revises: None
"""

revision = '0.1.1'
down_revision = None
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
