import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref
from openbss.ordering.model import EVENT_KINDS, LIVE_STATUSES, ORDER_STATES, PRODUCT_STATUSES


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# A term's fee and its currency are given together or not at all.
_FEE_PAIRED = "(etf_amount IS NULL) = (etf_currency IS NULL)"

product_order = sa.Table(
    "product_order",
    metadata,
    id_column(),
    created_at(),
    # NULL while the order is only captured (acknowledged): TMF622 lets a client send it later by PATCH.
    uuid_ref("account_id", nullable=True, index=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("requested_start", sa.DateTime(timezone=True)),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("requested_completion", sa.DateTime(timezone=True)),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    sa.Column("cancellation_reason", sa.Text),
    sa.Column("external_id", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("priority", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("notes", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("related_party", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.CheckConstraint(_one_of("state", ORDER_STATES), name="state_known"),
    # Orders the scheduler completes when due: a partial index keeps that scan small forever.
    sa.Index("ix_product_order_due", "requested_start", postgresql_where=sa.text("state = 'inProgress'")),
)

product = sa.Table(
    "product",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    uuid_ref("offering_id"),
    uuid_ref("order_id", "product_order.id", index=True),
    sa.Column("service_id", sa.Text, nullable=False, index=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True)),
    sa.Column("trial_end_at", sa.DateTime(timezone=True)),
    sa.Column("term_months", sa.Integer),
    sa.Column("term_start_at", sa.DateTime(timezone=True)),
    sa.Column("term_end_at", sa.DateTime(timezone=True)),
    sa.Column("auto_renew", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("etf_amount", MONEY),
    sa.Column("etf_currency", sa.CHAR(3)),
    sa.Column("related_party", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.CheckConstraint(_one_of("status", PRODUCT_STATUSES), name="status_known"),
    sa.CheckConstraint("end_at IS NULL OR end_at >= start_at", name="life_ordered"),
    sa.CheckConstraint(
        "(term_months IS NULL) = (term_start_at IS NULL) AND (term_months IS NULL) = (term_end_at IS NULL)"
        " AND (term_months IS NULL OR term_months > 0)", name="term_complete"),
    sa.CheckConstraint(_FEE_PAIRED, name="etf_paired"),
    # Usage is routed to a subscription by its service id, so two live subscriptions may never share one.
    sa.Index("uq_product_live_service_id", "service_id", unique=True,
             postgresql_where=sa.text(_one_of("status", LIVE_STATUSES))),
)

product_order_item = sa.Table(
    "product_order_item",
    metadata,
    id_column(),
    uuid_ref("order_id", "product_order.id", index=True),
    uuid_ref("account_id", nullable=True, index=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    uuid_ref("offering_id", nullable=True),
    sa.Column("service_id", sa.Text),
    uuid_ref("product_id", "product.id", nullable=True),
    sa.Column("trial_days", sa.Integer),
    sa.Column("term_months", sa.Integer),
    sa.Column("auto_renew", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("etf_amount", MONEY),
    sa.Column("etf_currency", sa.CHAR(3)),
    sa.Column("promotion_code", sa.Text),
    sa.CheckConstraint(_FEE_PAIRED, name="etf_paired"),
    sa.UniqueConstraint("order_id", "label"),
)

product_event = sa.Table(
    "product_event",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("product_id", "product.id"),
    uuid_ref("account_id"),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    uuid_ref("offering_id"),
    uuid_ref("from_offering_id", nullable=True),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint(_one_of("kind", EVENT_KINDS), name="kind_known"),
    # One event of a kind per product and instant: the scheduler's jobs (activation, renewal) run twice safely.
    sa.UniqueConstraint("product_id", "kind", "at"),
    # Billing reads one account's events up to a date.
    sa.Index("ix_product_event_account_at", "account_id", "at"),
)
