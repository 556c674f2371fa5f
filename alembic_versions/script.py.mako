"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    from migrator.alembic_bridge import run_revision

    run_revision(op.get_bind(), revision)


def downgrade() -> None:
    from migrator.alembic_bridge import no_downgrade

    no_downgrade(revision)
