import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from openbss.db.metadata import MONEY, QUANTITY, created_at, id_column, metadata, uuid_ref


def _last_update() -> sa.Column:
    return sa.Column("last_update", sa.DateTime(timezone=True), nullable=False)


def _validity() -> list[sa.Column]:
    return [sa.Column("valid_from", sa.DateTime(timezone=True)), sa.Column("valid_to", sa.DateTime(timezone=True))]


def _ids(name: str) -> sa.Column:
    # References kept in order (bundle children, categories): arrays, checked by the service on every write.
    return sa.Column(name, ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}")


def _codes(name: str) -> sa.Column:
    return sa.Column(name, ARRAY(sa.Text), nullable=False, server_default="{}")


product_catalog = sa.Table(
    "product_catalog",
    metadata,
    id_column(),
    created_at(),
    _last_update(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("catalog_type", sa.Text),
    sa.Column("version", sa.Text),
    sa.Column("lifecycle_status", sa.Text, nullable=False),
    *_validity(),
    _ids("category_ids"),
)

category = sa.Table(
    "category",
    metadata,
    id_column(),
    created_at(),
    _last_update(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    uuid_ref("parent_id", "category.id", nullable=True, index=True),
    sa.Column("version", sa.Text),
    sa.Column("lifecycle_status", sa.Text, nullable=False),
    *_validity(),
)

product_specification = sa.Table(
    "product_specification",
    metadata,
    id_column(),
    created_at(),
    _last_update(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("brand", sa.Text),
    sa.Column("version", sa.Text),
    sa.Column("product_number", sa.Text),
    sa.Column("lifecycle_status", sa.Text, nullable=False),
    *_validity(),
    # productSpecCharacteristic in its TMF form: read and written whole with the specification.
    sa.Column("characteristics", JSONB, nullable=False, server_default="[]"),
)

product_offering = sa.Table(
    "product_offering",
    metadata,
    id_column(),
    created_at(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("lifecycle_status", sa.Text, nullable=False),
    sa.Column("tax_category", sa.Text, nullable=False),
    _last_update(),
    sa.Column("version", sa.Text),
    sa.Column("is_sellable", sa.Boolean, nullable=False, server_default=sa.true()),
    *_validity(),
    sa.Column("is_bundle", sa.Boolean, nullable=False, server_default=sa.false()),
    _ids("bundled_offering_ids"),
    uuid_ref("spec_id", "product_specification.id", nullable=True, index=True),
    sa.Column("spec_ref", JSONB),
    _ids("category_ids"),
    _codes("segments"),
    _codes("countries"),
    _codes("channels"),
    sa.Column("experiment_name", sa.Text, index=True),
    sa.Column("experiment_variant", sa.Text),
    sa.Column("experiment_segment", sa.Text),
    sa.CheckConstraint(
        "(experiment_name IS NULL) = (experiment_variant IS NULL)"
        " AND (experiment_name IS NULL) = (experiment_segment IS NULL)",
        name="experiment_whole",
    ),
    sa.UniqueConstraint("experiment_name", "experiment_variant"),
)

product_offering_price = sa.Table(
    "product_offering_price",
    metadata,
    id_column(),
    uuid_ref("offering_id", "product_offering.id", nullable=True, index=True),
    sa.Column("name", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount", MONEY),
    sa.Column("currency", sa.CHAR(3)),
    sa.Column("period", sa.Text),
    sa.Column("usage_type", sa.Text),
    sa.Column("unit_size", QUANTITY, nullable=False),
    sa.Column("valid_from", sa.DateTime(timezone=True)),
    sa.Column("valid_to", sa.DateTime(timezone=True)),
    sa.Column("description", sa.Text),
    sa.Column("lifecycle_status", sa.Text, nullable=False, server_default="active"),
    sa.Column("charge_timing", sa.Text),
    sa.Column("usage_model", sa.Text),
    # [{from_units, up_to, unit_price, flat_fee}] as decimal strings, ascending and contiguous (model.Tier)
    sa.Column("tiers", JSONB, nullable=False, server_default="[]"),
    sa.Column("included_units", QUANTITY, nullable=False, server_default="0"),
    sa.Column("percentage", sa.Numeric(9, 6)),
    sa.Column("applies_to", sa.Text),
    sa.Column("duration_periods", sa.Integer),
    sa.Column("promotion_code", sa.Text),
    _ids("requires_offerings"),
    sa.Column("segment", sa.Text),
    sa.Column("change_policy", sa.Text),
    _last_update(),
    # A usage price rated with a stored rate table (its name: the newest version applies), and how its
    # included units are granted: carried over one period (rollover), per subscription or pooled per hierarchy.
    sa.Column("rate_table", sa.Text),
    sa.Column("rollover", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("allowance_scope", sa.Text),
    # The amount includes VAT (TMF Price.taxIncludedAmount); billing derives the net at the customer's rate.
    sa.Column("tax_included", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    sa.CheckConstraint("unit_size > 0", name="unit_size_positive"),
    sa.CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="amount_with_currency"),
    sa.CheckConstraint("kind IN ('oneTime', 'recurring', 'usage', 'discount', 'commitment')", name="kind_known"),
    # Rating and billing rely on these without re-checking: a price on an offering is complete.
    sa.CheckConstraint(
        "offering_id IS NULL"
        " OR (kind = 'recurring' AND period IS NOT NULL AND usage_type IS NULL AND amount IS NOT NULL)"
        " OR (kind = 'usage' AND usage_type IS NOT NULL AND period IS NULL AND amount IS NOT NULL)"
        " OR (kind = 'oneTime' AND period IS NULL AND usage_type IS NULL AND amount IS NOT NULL)"
        " OR (kind = 'discount' AND period IS NULL AND usage_type IS NULL"
        "     AND (amount IS NULL) <> (percentage IS NULL))"
        " OR (kind = 'commitment' AND period IS NOT NULL AND usage_type IS NULL AND amount IS NOT NULL)",
        name="kind_shape",
    ),
)

# Orders of offerings that are variants of a pricing experiment, reported by ordering; one row per order.
experiment_order = sa.Table(
    "experiment_order",
    metadata,
    uuid_ref("offering_id", "product_offering.id"),
    sa.Column("order_id", UUID(as_uuid=True), nullable=False),
    created_at(),
    sa.PrimaryKeyConstraint("offering_id", "order_id"),
)
