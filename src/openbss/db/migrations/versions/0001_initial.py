"""initial schema (development placeholder: regenerated as explicit operations before release)

Revision ID: 0001
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from openbss.schema import metadata

    metadata.create_all(op.get_bind())


def downgrade() -> None:
    from openbss.schema import metadata

    metadata.drop_all(op.get_bind())
