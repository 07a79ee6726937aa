"""bill holds and bill-on-demand requests: TMF678 PATCH customerBill onHold and customerBillOnDemand

Two new tables beside the immutable invoice (billing/request_tables.py): `bill_hold` (a collections hold, at
most one open per invoice) and `bill_on_demand` (the requests as received, with their state and bill).

Revision ID: 0025_bill_hold_on_demand
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_bill_hold_on_demand"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None

ON_DEMAND_STATES = "state IN ('inProgress', 'rejected', 'done', 'terminatedWithError')"


def _uuid(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.UUID(), nullable=nullable)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _invoice_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f(f"fk_{table}_invoice_id_invoice"))


def upgrade() -> None:
    op.create_table(
        "bill_hold",
        _uuid("id"), _uuid("invoice_id"), _uuid("account_id"),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("held_at", False),
        sa.Column("actor", sa.Text(), nullable=False),
        _ts("released_at"),
        sa.Column("released_by", sa.Text(), nullable=True),
        sa.CheckConstraint("(released_at IS NULL) = (released_by IS NULL)",
                           name=op.f("ck_bill_hold_released_by_whom")),
        _invoice_fk("bill_hold"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_hold")),
    )
    op.create_index(op.f("ix_bill_hold_invoice_id"), "bill_hold", ["invoice_id"])
    op.create_index(op.f("ix_bill_hold_account_id"), "bill_hold", ["account_id"])
    op.create_index("uq_bill_hold_open", "bill_hold", ["invoice_id"], unique=True,
                    postgresql_where=sa.text("released_at IS NULL"))
    op.create_table(
        "bill_on_demand",
        _uuid("id"), _ts("created_at", False), _ts("last_update", False),
        sa.Column("billing_account_ref", sa.Text(), nullable=False),
        _uuid("account_id", nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        _uuid("invoice_id", nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.CheckConstraint(ON_DEMAND_STATES, name=op.f("ck_bill_on_demand_state")),
        _invoice_fk("bill_on_demand"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_on_demand")),
    )
    op.create_index(op.f("ix_bill_on_demand_account_id"), "bill_on_demand", ["account_id"])


def downgrade() -> None:
    op.drop_table("bill_on_demand")
    op.drop_table("bill_hold")
