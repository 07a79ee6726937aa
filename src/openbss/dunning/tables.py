"""Collections tables: plans and their steps, cases, the steps taken (once per case: UNIQUE (case, step)),
reminder e-mails (dunning's own outbox), promises to pay, products dunning suspended, amounts written off.

Accounts, documents and products belong to other domains: referenced by id without a foreign key."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref

dunning_plan = sa.Table(
    "dunning_plan",
    metadata,
    id_column(),
    created_at(),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("segment", sa.Text),  # NULL: the plan for every segment without a plan of its own
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    # One active plan per (segment, currency); a retired plan keeps serving the cases it opened.
    sa.Index("uq_dunning_plan_active", "segment", "currency", unique=True, postgresql_nulls_not_distinct=True,
             postgresql_where=sa.text("active")),
)

dunning_plan_step = sa.Table(
    "dunning_plan_step",
    metadata,
    uuid_ref("plan_id", "dunning_plan.id"),
    sa.Column("step_no", sa.Integer, nullable=False),
    sa.Column("day", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("fee_amount", MONEY),
    sa.Column("tax_category", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("plan_id", "step_no"),
    sa.CheckConstraint("action IN ('reminder', 'lateFee', 'suspend', 'terminate', 'writeOff', 'collectionAgency')",
                       name="action"),
    sa.CheckConstraint("(action = 'lateFee') = (fee_amount IS NOT NULL)", name="fee_only_for_late_fee"),
)

dunning_case = sa.Table(
    "dunning_case",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    uuid_ref("plan_id", "dunning_plan.id"),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),  # why paused (dispute, promise) or closed (paid, writtenOff)
    sa.Column("anchor_date", sa.Date, nullable=False),  # the due date steps count from
    sa.Column("paused_days", sa.Integer, nullable=False),  # days spent paused before the current pause
    sa.Column("paused_since", sa.Date),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("state IN ('active', 'paused', 'closed')", name="state"),
    sa.CheckConstraint("(state = 'paused') = (paused_since IS NOT NULL)", name="paused_since"),
    # One open case per account: two runs at once cannot open two.
    sa.Index("uq_dunning_case_open", "account_id", unique=True, postgresql_where=sa.text("state <> 'closed'")),
)

dunning_action = sa.Table(
    "dunning_action",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("case_id", "dunning_case.id"),
    uuid_ref("account_id", index=True),
    sa.Column("step_no", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("taken_on", sa.Date, nullable=False),
    sa.Column("amount", MONEY, nullable=False),  # collectible overdue when the step was taken
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("details", JSONB, nullable=False),  # documents, debit note, products, journal entry, ...
    # A step is taken once per case, however often the run runs: the idempotency of `openbss dunning run`.
    sa.UniqueConstraint("case_id", "step_no"),
    sa.Index("ix_dunning_action_taken", "action", "taken_on"),
)

dunning_notice = sa.Table(
    "dunning_notice",
    metadata,
    uuid_ref("action_id", "dunning_action.id"),
    uuid_ref("account_id", index=True),
    created_at(),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("recipient", sa.Text),
    sa.Column("message_id", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.PrimaryKeyConstraint("action_id"),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status"),
    sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)", name="pending_has_next_attempt"),
    sa.Index("ix_dunning_notice_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
)

dunning_promise = sa.Table(
    "dunning_promise",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("case_id", "dunning_case.id"),
    uuid_ref("account_id", index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("promised_on", sa.Date, nullable=False),
    sa.Column("baseline", MONEY, nullable=False),
    sa.Column("documents", sa.ARRAY(sa.UUID), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("resolved_on", sa.Date),
    sa.CheckConstraint("state IN ('open', 'kept', 'broken')", name="state"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index("uq_dunning_promise_open", "case_id", unique=True, postgresql_where=sa.text("state = 'open'")),
)

dunning_product = sa.Table(
    "dunning_product",
    metadata,
    uuid_ref("case_id", "dunning_case.id"),
    uuid_ref("product_id"),
    uuid_ref("account_id", index=True),
    sa.Column("suspended_at", sa.DateTime(timezone=True)),
    sa.Column("terminated_at", sa.DateTime(timezone=True)),
    sa.Column("restored_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("case_id", "product_id"),
)

dunning_write_off = sa.Table(
    "dunning_write_off",
    metadata,
    uuid_ref("action_id", "dunning_action.id"),
    uuid_ref("document_id", index=True),
    uuid_ref("account_id", index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.PrimaryKeyConstraint("action_id", "document_id"),
)
