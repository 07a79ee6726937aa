import sqlalchemy as sa

from openbss.db.metadata import MONEY, QUANTITY, created_at, id_column, metadata, uuid_ref

product_offering = sa.Table(
    "product_offering",
    metadata,
    id_column(),
    created_at(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("lifecycle_status", sa.Text, nullable=False),
    sa.Column("tax_category", sa.Text, nullable=False),
)

product_offering_price = sa.Table(
    "product_offering_price",
    metadata,
    id_column(),
    uuid_ref("offering_id", "product_offering.id", index=True),
    sa.Column("name", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("period", sa.Text),
    sa.Column("usage_type", sa.Text),
    sa.Column("unit_size", QUANTITY, nullable=False),
    sa.Column("valid_from", sa.DateTime(timezone=True)),
    sa.Column("valid_to", sa.DateTime(timezone=True)),
    sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    sa.CheckConstraint("unit_size > 0", name="unit_size_positive"),
    sa.CheckConstraint(
        "(kind = 'recurring' AND period IS NOT NULL AND usage_type IS NULL)"
        " OR (kind = 'usage' AND usage_type IS NOT NULL AND period IS NULL)",
        name="kind_shape",
    ),
)
