"""usage: status "prepaid" for usage charged online against a prepaid balance (issue #7 part 2)

Revision ID: 0030_online_usage
Revises: 0029_charging_balances_api
"""
from alembic import op

revision = "0030_online_usage"
down_revision = "0029_charging_balances_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_usage_status"), "usage", type_="check")
    op.create_check_constraint(op.f("ck_usage_status"), "usage", "status IN ('rated', 'billed', 'prepaid')")
    op.alter_column("usage", "price_id", nullable=True)
    op.create_check_constraint(op.f("ck_usage_priced"), "usage", "price_id IS NOT NULL OR status = 'prepaid'")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_usage_priced"), "usage", type_="check")
    op.alter_column("usage", "price_id", nullable=False)
    op.drop_constraint(op.f("ck_usage_status"), "usage", type_="check")
    op.create_check_constraint(op.f("ck_usage_status"), "usage", "status IN ('rated', 'billed')")
