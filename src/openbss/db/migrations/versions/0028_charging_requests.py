"""charging: every credit-control request answered, with its answer (issue #7: duplicates, durability)

Revision ID: 0028_charging_requests
Revises: 0027_charging_balances
"""
import sqlalchemy as sa
from alembic import op

revision = "0028_charging_requests"
down_revision = "0027_charging_balances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charging_request",
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("request_number", sa.BigInteger(), nullable=False),
        sa.Column("request_type", sa.SmallInteger(), nullable=False),
        sa.Column("result_code", sa.Integer(), nullable=False),
        sa.Column("answer", sa.LargeBinary(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("request_type BETWEEN 1 AND 4", name=op.f("ck_charging_request_request_type_known")),
        sa.PrimaryKeyConstraint("session_id", "request_number", name=op.f("pk_charging_request")),
    )


def downgrade() -> None:
    op.drop_table("charging_request")
