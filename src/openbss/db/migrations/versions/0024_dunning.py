"""dunning: plans and steps, cases, steps taken (once per case), reminder outbox, promises, suspensions, write-offs

The steps taken and the amounts written off are history: append-only (0001's trigger function).

Revision ID: 0024_dunning
Revises: 0016_merge_billing_branches
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0024_dunning"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(20, 6)
APPEND_ONLY = ("dunning_action", "dunning_write_off")


def _uuid(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.UUID(), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account_index(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_account_id"), table, ["account_id"])


def upgrade() -> None:
    op.create_table(
        "dunning_plan",
        _uuid("id"), _ts("created_at", False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=True),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_plan")),
        sa.UniqueConstraint("name", name=op.f("uq_dunning_plan_name")),
    )
    op.create_index("uq_dunning_plan_active", "dunning_plan", ["segment", "currency"], unique=True,
                    postgresql_nulls_not_distinct=True, postgresql_where=sa.text("active"))
    op.create_table(
        "dunning_plan_step",
        _uuid("plan_id"),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("fee_amount", MONEY, nullable=True),
        sa.Column("tax_category", sa.Text(), nullable=False),
        sa.CheckConstraint("action IN ('reminder', 'lateFee', 'suspend', 'terminate', 'writeOff', "
                           "'collectionAgency')", name=op.f("ck_dunning_plan_step_action")),
        sa.CheckConstraint("(action = 'lateFee') = (fee_amount IS NOT NULL)",
                           name=op.f("ck_dunning_plan_step_fee_only_for_late_fee")),
        _fk("dunning_plan_step", "plan_id", "dunning_plan"),
        sa.PrimaryKeyConstraint("plan_id", "step_no", name=op.f("pk_dunning_plan_step")),
    )
    op.create_table(
        "dunning_case",
        _uuid("id"), _ts("created_at", False), _uuid("account_id"), _uuid("plan_id"),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("anchor_date", sa.Date(), nullable=False),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.Column("paused_since", sa.Date(), nullable=True),
        _ts("updated_at", False), _ts("closed_at"),
        sa.CheckConstraint("state IN ('active', 'paused', 'closed')", name=op.f("ck_dunning_case_state")),
        sa.CheckConstraint("(state = 'paused') = (paused_since IS NOT NULL)",
                           name=op.f("ck_dunning_case_paused_since")),
        _fk("dunning_case", "plan_id", "dunning_plan"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_case")),
    )
    _account_index("dunning_case")
    op.create_index("uq_dunning_case_open", "dunning_case", ["account_id"], unique=True,
                    postgresql_where=sa.text("state <> 'closed'"))
    op.create_table(
        "dunning_action",
        _uuid("id"), _ts("created_at", False), _uuid("case_id"), _uuid("account_id"),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("details", JSONB(), nullable=False),
        _fk("dunning_action", "case_id", "dunning_case"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_action")),
        sa.UniqueConstraint("case_id", "step_no", name=op.f("uq_dunning_action_case_id_step_no")),
    )
    _account_index("dunning_action")
    op.create_index("ix_dunning_action_taken", "dunning_action", ["action", "taken_on"])
    op.create_table(
        "dunning_notice",
        _uuid("action_id"), _uuid("account_id"), _ts("created_at", False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"), _ts("last_attempt_at"), _ts("sent_at"),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')",
                           name=op.f("ck_dunning_notice_status")),
        sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)",
                           name=op.f("ck_dunning_notice_pending_has_next_attempt")),
        _fk("dunning_notice", "action_id", "dunning_action"),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_dunning_notice")),
    )
    _account_index("dunning_notice")
    op.create_index("ix_dunning_notice_due", "dunning_notice", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "dunning_promise",
        _uuid("id"), _ts("created_at", False), _uuid("case_id"), _uuid("account_id"),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("baseline", MONEY, nullable=False),
        sa.Column("documents", sa.ARRAY(sa.UUID()), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'kept', 'broken')", name=op.f("ck_dunning_promise_state")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_dunning_promise_amount_positive")),
        _fk("dunning_promise", "case_id", "dunning_case"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_promise")),
    )
    _account_index("dunning_promise")
    op.create_index("uq_dunning_promise_open", "dunning_promise", ["case_id"], unique=True,
                    postgresql_where=sa.text("state = 'open'"))
    op.create_table(
        "dunning_product",
        _uuid("case_id"), _uuid("product_id"), _uuid("account_id"),
        _ts("suspended_at"), _ts("terminated_at"), _ts("restored_at"),
        _fk("dunning_product", "case_id", "dunning_case"),
        sa.PrimaryKeyConstraint("case_id", "product_id", name=op.f("pk_dunning_product")),
    )
    _account_index("dunning_product")
    op.create_table(
        "dunning_write_off",
        _uuid("action_id"), _uuid("document_id"), _uuid("account_id"),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        _fk("dunning_write_off", "action_id", "dunning_action"),
        sa.PrimaryKeyConstraint("action_id", "document_id", name=op.f("pk_dunning_write_off")),
    )
    _account_index("dunning_write_off")
    op.create_index(op.f("ix_dunning_write_off_document_id"), "dunning_write_off", ["document_id"])
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")


def downgrade() -> None:
    for table in ("dunning_write_off", "dunning_product", "dunning_promise", "dunning_notice", "dunning_action",
                  "dunning_case", "dunning_plan_step", "dunning_plan"):
        op.drop_table(table)
