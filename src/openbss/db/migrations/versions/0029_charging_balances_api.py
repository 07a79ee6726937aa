"""charging: TMF654 top-ups and adjustments, vouchers, use thresholds, postpaid holds, rollovers (issue #7 part 1)

Revision ID: 0029_charging_balances_api
Revises: 0028_charging_requests
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_charging_balances_api"
down_revision = "0028_charging_requests"
branch_labels = None
depends_on = None

QUANTITY = sa.Numeric(24, 6)


def _uuid(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.UUID(), nullable=nullable)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "voucher_batch",
        _uuid("id"), sa.Column("salt", sa.Text(), nullable=False), sa.Column("amount", QUANTITY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False), sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False), sa.Column("description", sa.Text(), nullable=True),
        _ts("created_at", False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_voucher_batch_positive")),
        sa.CheckConstraint("count > 0", name=op.f("ck_voucher_batch_count_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_batch")),
    )
    op.create_index("ix_voucher_batch_valid_until", "voucher_batch", ["valid_until"])
    op.create_table(
        "voucher",
        _uuid("id"), _uuid("batch_id"), sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="available", nullable=False), _ts("redeemed_at"),
        sa.CheckConstraint("status IN ('available', 'redeemed', 'void')", name=op.f("ck_voucher_status_known")),
        sa.CheckConstraint("(status = 'redeemed') = (redeemed_at IS NOT NULL)",
                           name=op.f("ck_voucher_redeemed_when")),
        _fk("voucher", "batch_id", "voucher_batch"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher")),
        sa.UniqueConstraint("pin_hash", name=op.f("uq_voucher_pin_hash")),
        sa.UniqueConstraint("batch_id", "serial", name=op.f("uq_voucher_batch_id_serial")),
    )
    op.create_table(
        "balance_topup",
        _uuid("id"), _uuid("account_id"), _uuid("bucket_id"), sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=True), sa.Column("amount", QUANTITY, nullable=False),
        _uuid("voucher_id", True), sa.Column("payment_method_id", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True), sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True), sa.Column("new_bucket", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False), _ts("created_at", False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_balance_topup_positive")),
        sa.CheckConstraint("status IN ('completed')", name=op.f("ck_balance_topup_status_known")),
        _fk("balance_topup", "bucket_id", "balance_bucket"), _fk("balance_topup", "voucher_id", "voucher"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_topup")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_balance_topup_voucher_id")),
    )
    op.create_index(op.f("ix_balance_topup_account_id"), "balance_topup", ["account_id"])
    op.create_index(op.f("ix_balance_topup_bucket_id"), "balance_topup", ["bucket_id"])
    op.create_table(
        "balance_adjustment",
        _uuid("id"), _uuid("account_id", True), _uuid("bucket_id"), sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=True), sa.Column("amount", QUANTITY, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False), sa.Column("description", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True), sa.Column("status", sa.Text(), nullable=False),
        _ts("created_at", False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_balance_adjustment_not_zero")),
        sa.CheckConstraint("status IN ('completed')", name=op.f("ck_balance_adjustment_status_known")),
        _fk("balance_adjustment", "bucket_id", "balance_bucket"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_adjustment")),
    )
    op.create_index(op.f("ix_balance_adjustment_account_id"), "balance_adjustment", ["account_id"])
    op.create_index(op.f("ix_balance_adjustment_bucket_id"), "balance_adjustment", ["bucket_id"])
    op.create_table(
        "balance_bucket_threshold",
        _uuid("bucket_id"), sa.Column("percent", sa.SmallInteger(), nullable=False), _ts("notified_at", False),
        _fk("balance_bucket_threshold", "bucket_id", "balance_bucket"),
        sa.PrimaryKeyConstraint("bucket_id", "percent", name=op.f("pk_balance_bucket_threshold")),
    )
    op.create_table(
        "charging_postpaid_hold",
        _uuid("reservation_id"), _uuid("account_id"), sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("held", QUANTITY, nullable=False),
        sa.CheckConstraint("held > 0", name=op.f("ck_charging_postpaid_hold_positive")),
        _fk("charging_postpaid_hold", "reservation_id", "charging_reservation"),
        sa.PrimaryKeyConstraint("reservation_id", name=op.f("pk_charging_postpaid_hold")),
    )
    op.create_index(op.f("ix_charging_postpaid_hold_account_id"), "charging_postpaid_hold", ["account_id"])
    op.create_table(
        "balance_rollover",
        _uuid("from_bucket_id"), _uuid("to_bucket_id"), _ts("rolled_at", False),
        sa.ForeignKeyConstraint(["from_bucket_id"], ["balance_bucket.id"],
                                name=op.f("fk_balance_rollover_from_bucket_id_balance_bucket")),
        sa.ForeignKeyConstraint(["to_bucket_id"], ["balance_bucket.id"],
                                name=op.f("fk_balance_rollover_to_bucket_id_balance_bucket")),
        sa.PrimaryKeyConstraint("from_bucket_id", name=op.f("pk_balance_rollover")),
        sa.UniqueConstraint("to_bucket_id", name=op.f("uq_balance_rollover_to_bucket_id")),
    )


def downgrade() -> None:
    for table in ("balance_rollover", "charging_postpaid_hold", "balance_bucket_threshold", "balance_adjustment",
                  "balance_topup", "voucher", "voucher_batch"):
        op.drop_table(table)
