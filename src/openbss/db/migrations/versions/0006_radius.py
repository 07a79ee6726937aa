"""mediation collectors: the last counters of each RADIUS accounting session (usage is stored as deltas),
and the files a spool directory has processed (by sha256, so a file dropped twice is refused)

Revision ID: 0006_radius
Revises: 0005_billing_periods
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_radius"
down_revision = "0005_billing_periods"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "radius_session",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("session_time", sa.BigInteger(), nullable=False),
        sa.Column("input_octets", sa.Numeric(20, 0), nullable=False),
        sa.Column("output_octets", sa.Numeric(20, 0), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "session_id", name="pk_radius_session"),
    )
    op.create_table(
        "spool_file",
        sa.Column("sha256", sa.CHAR(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_spool_file"),
    )


def downgrade() -> None:
    op.drop_table("spool_file")
    op.drop_table("radius_session")
