import sqlalchemy as sa

from openbss.db.metadata import created_at, id_column, metadata, uuid_ref

product_order = sa.Table(
    "product_order",
    metadata,
    id_column(),
    created_at(),
    uuid_ref("account_id", index=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("requested_start", sa.DateTime(timezone=True)),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
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
    sa.CheckConstraint("status IN ('active', 'terminated')", name="status_known"),
    sa.CheckConstraint("end_at IS NULL OR end_at >= start_at", name="life_ordered"),
    # Usage is routed to a subscription by its service id, so two live subscriptions may never share one.
    sa.Index("uq_product_active_service_id", "service_id", unique=True, postgresql_where=sa.text("status = 'active'")),
)

product_order_item = sa.Table(
    "product_order_item",
    metadata,
    id_column(),
    uuid_ref("order_id", "product_order.id", index=True),
    uuid_ref("account_id", index=True),
    sa.Column("action", sa.Text, nullable=False),
    uuid_ref("offering_id"),
    sa.Column("service_id", sa.Text, nullable=False),
    uuid_ref("product_id", "product.id"),
)
