"""charging: balance groups and buckets, reservations and their holds (issue #7, TMF654)

Revision ID: 0027_charging_balances
Revises: 0026_merge_issues_5_6
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_charging_balances"
down_revision = "0026_merge_issues_5_6"
branch_labels = None
depends_on = None

QUANTITY = sa.Numeric(24, 6)


def _uuid(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.UUID(), nullable=nullable)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "balance_group",
        _uuid("id"), sa.Column("name", sa.Text(), nullable=False), _ts("created_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_group")),
    )
    op.create_table(
        "balance_group_member",
        _uuid("group_id"), _uuid("account_id"),
        sa.ForeignKeyConstraint(["group_id"], ["balance_group.id"],
                                name=op.f("fk_balance_group_member_group_id_balance_group")),
        sa.PrimaryKeyConstraint("group_id", "account_id", name=op.f("pk_balance_group_member")),
    )
    op.create_index(op.f("ix_balance_group_member_account_id"), "balance_group_member", ["account_id"])
    op.create_table(
        "balance_bucket",
        _uuid("id"), _uuid("account_id", True), _uuid("group_id", True),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=True),
        sa.Column("amount", QUANTITY, nullable=False),
        sa.Column("reserved", QUANTITY, server_default="0", nullable=False),
        sa.Column("used", QUANTITY, server_default="0", nullable=False),
        _ts("valid_from", False), _ts("valid_to"),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rollover", sa.Boolean(), server_default="false", nullable=False),
        _ts("created_at", False),
        sa.CheckConstraint("(account_id IS NULL) <> (group_id IS NULL)", name=op.f("ck_balance_bucket_one_owner")),
        sa.CheckConstraint("unit IN ('money', 'second', 'byte', 'message')", name=op.f("ck_balance_bucket_unit_known")),
        sa.CheckConstraint("(unit = 'money') = (currency IS NOT NULL)",
                           name=op.f("ck_balance_bucket_currency_for_money")),
        sa.CheckConstraint("amount >= 0 AND reserved >= 0 AND used >= 0", name=op.f("ck_balance_bucket_not_negative")),
        sa.CheckConstraint("used + reserved <= amount", name=op.f("ck_balance_bucket_within_amount")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                           name=op.f("ck_balance_bucket_validity_ordered")),
        sa.ForeignKeyConstraint(["group_id"], ["balance_group.id"], name=op.f("fk_balance_bucket_group_id_balance_group")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_bucket")),
    )
    op.create_index(op.f("ix_balance_bucket_account_id"), "balance_bucket", ["account_id"])
    op.create_index(op.f("ix_balance_bucket_group_id"), "balance_bucket", ["group_id"])
    op.create_table(
        "charging_reservation",
        _uuid("id"), sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("rating_group", sa.BigInteger(), nullable=False),
        _uuid("account_id"), _uuid("product_id"),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("usage_type", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        _ts("rated_at", False),
        sa.Column("granted", QUANTITY, nullable=False),
        sa.Column("used", QUANTITY, server_default="0", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _ts("expires_at", False), _ts("created_at", False), _ts("updated_at", False),
        sa.CheckConstraint("status IN ('active', 'closed', 'expired')",
                           name=op.f("ck_charging_reservation_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_reservation")),
        sa.UniqueConstraint("session_id", "rating_group", name=op.f("uq_charging_reservation_session_id_rating_group")),
    )
    op.create_index(op.f("ix_charging_reservation_account_id"), "charging_reservation", ["account_id"])
    op.create_index("ix_charging_reservation_expiry", "charging_reservation", ["expires_at"],
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table(
        "charging_hold",
        _uuid("reservation_id"), _uuid("bucket_id"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("held", QUANTITY, nullable=False),
        sa.CheckConstraint("held > 0", name=op.f("ck_charging_hold_positive")),
        sa.ForeignKeyConstraint(["reservation_id"], ["charging_reservation.id"],
                                name=op.f("fk_charging_hold_reservation_id_charging_reservation")),
        sa.ForeignKeyConstraint(["bucket_id"], ["balance_bucket.id"],
                                name=op.f("fk_charging_hold_bucket_id_balance_bucket")),
        sa.PrimaryKeyConstraint("reservation_id", "bucket_id", name=op.f("pk_charging_hold")),
    )


def downgrade() -> None:
    for table in ("charging_hold", "charging_reservation", "balance_bucket", "balance_group_member", "balance_group"):
        op.drop_table(table)
