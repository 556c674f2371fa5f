"""Harbor 1.5.0 (Harbor 1.5.x).

Schema: project_member gets id (first, primary key, in the old key order),
user_id becomes entity_id, entity_type char(1) 'u', unique
(project_id, entity_id, entity_type), no foreign keys; harbor_label,
harbor_resource_label, user_group; replication_job.job_uuid and index
poid_status; img_scan_job.job_uuid and indexes idx_status, idx_digest,
idx_uuid, idx_repository_tag.

Revision ID: 1.5.0
Revises: 1.4.0
"""

revision = '1.5.0'
down_revision = '1.4.0'
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
