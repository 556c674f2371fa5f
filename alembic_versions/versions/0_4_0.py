"""Harbor 0.4.0 (also 0.4.5, 0.5.0, 1.1.x): repository table, indexes (harbor-facts §2.3).

Revision ID: 0.4.0
Revises: 0.3.0
"""
from alembic import op

revision = '0.4.0'
down_revision = '0.3.0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Starting points before 0.4.0 are not supported yet: harbor-migrate upgrades
    from revision 0.4.0 (Harbor 0.4.x-1.1.x). This revision exists so that the
    chain (and databases stamped by Harbor's own tool) resolve in alembic."""
    from migrator.alembic_bridge import unsupported_start

    unsupported_start(revision)


def downgrade() -> None:
    """There is no way back through DDL: restore the snapshot taken before the upgrade."""
    from migrator.alembic_bridge import no_downgrade

    no_downgrade(revision)
