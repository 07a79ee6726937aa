"""catalog (issue #3): catalogs, categories, product specifications, offering prices as their own resource
with one-time, recurring and usage (tiered, volume, block, allowance) prices and discounts; bundles,
eligibility and pricing experiments on offerings.

Existing offerings and prices keep their data: the new columns get defaults, lastUpdate is back-filled
from the offering's creation.

Revision ID: 0002_catalog
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_catalog"
down_revision = "0001"
branch_labels = None
depends_on = None

_UUIDS = postgresql.ARRAY(sa.UUID())
_TEXTS = postgresql.ARRAY(sa.Text())


def _ids(name):
    return sa.Column(name, _UUIDS, server_default="{}", nullable=False)


def _codes(name):
    return sa.Column(name, _TEXTS, server_default="{}", nullable=False)


def _common(*extra):
    return [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        *extra,
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("lifecycle_status", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "product_catalog",
        *_common(sa.Column("catalog_type", sa.Text(), nullable=True)),
        _ids("category_ids"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_catalog")),
    )
    op.create_table(
        "category",
        *_common(sa.Column("parent_id", sa.UUID(), nullable=True)),
        sa.ForeignKeyConstraint(["parent_id"], ["category.id"], name=op.f("fk_category_parent_id_category")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
    )
    op.create_index(op.f("ix_category_parent_id"), "category", ["parent_id"], unique=False)
    op.create_table(
        "product_specification",
        *_common(sa.Column("brand", sa.Text(), nullable=True), sa.Column("product_number", sa.Text(), nullable=True)),
        sa.Column("characteristics", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_specification")),
    )

    o = "product_offering"
    op.add_column(o, sa.Column("last_update", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE product_offering SET last_update = created_at")
    op.alter_column(o, "last_update", nullable=False)
    op.add_column(o, sa.Column("version", sa.Text(), nullable=True))
    op.add_column(o, sa.Column("is_sellable", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column(o, sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True))
    op.add_column(o, sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True))
    op.add_column(o, sa.Column("is_bundle", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column(o, _ids("bundled_offering_ids"))
    op.add_column(o, sa.Column("spec_id", sa.UUID(), nullable=True))
    op.add_column(o, sa.Column("spec_ref", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column(o, _ids("category_ids"))
    op.add_column(o, _codes("segments"))
    op.add_column(o, _codes("countries"))
    op.add_column(o, _codes("channels"))
    op.add_column(o, sa.Column("experiment_name", sa.Text(), nullable=True))
    op.add_column(o, sa.Column("experiment_variant", sa.Text(), nullable=True))
    op.add_column(o, sa.Column("experiment_segment", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_product_offering_spec_id_product_specification"), o, "product_specification",
                          ["spec_id"], ["id"])
    op.create_index(op.f("ix_product_offering_spec_id"), o, ["spec_id"], unique=False)
    op.create_index(op.f("ix_product_offering_experiment_name"), o, ["experiment_name"], unique=False)
    op.create_check_constraint(
        op.f("ck_product_offering_experiment_whole"), o,
        "(experiment_name IS NULL) = (experiment_variant IS NULL)"
        " AND (experiment_name IS NULL) = (experiment_segment IS NULL)",
    )
    op.create_unique_constraint(op.f("uq_product_offering_experiment_name_experiment_variant"), o,
                                ["experiment_name", "experiment_variant"])

    p = "product_offering_price"
    op.add_column(p, sa.Column("last_update", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE product_offering_price p SET last_update = o.created_at FROM product_offering o"
               " WHERE o.id = p.offering_id")
    op.alter_column(p, "last_update", nullable=False)
    op.alter_column(p, "offering_id", existing_type=sa.UUID(), nullable=True)
    op.alter_column(p, "amount", existing_type=sa.Numeric(precision=20, scale=6), nullable=True)
    op.alter_column(p, "currency", existing_type=sa.CHAR(length=3), nullable=True)
    op.add_column(p, sa.Column("description", sa.Text(), nullable=True))
    op.add_column(p, sa.Column("lifecycle_status", sa.Text(), server_default="active", nullable=False))
    op.add_column(p, sa.Column("charge_timing", sa.Text(), nullable=True))
    op.add_column(p, sa.Column("usage_model", sa.Text(), nullable=True))
    op.add_column(p, sa.Column("tiers", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False))
    op.add_column(p, sa.Column("included_units", sa.Numeric(precision=24, scale=6), server_default="0",
                               nullable=False))
    op.add_column(p, sa.Column("percentage", sa.Numeric(precision=9, scale=6), nullable=True))
    op.add_column(p, sa.Column("applies_to", sa.Text(), nullable=True))
    op.add_column(p, sa.Column("duration_periods", sa.Integer(), nullable=True))
    op.add_column(p, sa.Column("promotion_code", sa.Text(), nullable=True))
    op.add_column(p, _ids("requires_offerings"))
    op.add_column(p, sa.Column("segment", sa.Text(), nullable=True))
    op.add_column(p, sa.Column("change_policy", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_product_offering_price_kind_shape"), p, type_="check")
    op.create_check_constraint(
        op.f("ck_product_offering_price_kind_shape"), p,
        "offering_id IS NULL"
        " OR (kind = 'recurring' AND period IS NOT NULL AND usage_type IS NULL AND amount IS NOT NULL)"
        " OR (kind = 'usage' AND usage_type IS NOT NULL AND period IS NULL AND amount IS NOT NULL)"
        " OR (kind = 'oneTime' AND period IS NULL AND usage_type IS NULL AND amount IS NOT NULL)"
        " OR (kind = 'discount' AND period IS NULL AND usage_type IS NULL"
        "     AND (amount IS NULL) <> (percentage IS NULL))",
    )
    op.create_check_constraint(op.f("ck_product_offering_price_amount_with_currency"), p,
                               "(amount IS NULL) = (currency IS NULL)")
    op.create_check_constraint(op.f("ck_product_offering_price_kind_known"), p,
                               "kind IN ('oneTime', 'recurring', 'usage', 'discount')")

    op.create_table(
        "experiment_order",
        sa.Column("offering_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offering_id"], ["product_offering.id"],
                                name=op.f("fk_experiment_order_offering_id_product_offering")),
        sa.PrimaryKeyConstraint("offering_id", "order_id", name=op.f("pk_experiment_order")),
    )


def downgrade() -> None:
    # Back to the foundation's shape: prices it cannot express (one-time, discounts, drafts) are dropped.
    op.drop_table("experiment_order")
    p = "product_offering_price"
    op.execute("DELETE FROM product_offering_price WHERE offering_id IS NULL OR kind NOT IN ('recurring', 'usage')")
    for ck in ("kind_known", "amount_with_currency", "kind_shape"):
        op.drop_constraint(op.f(f"ck_product_offering_price_{ck}"), p, type_="check")
    op.create_check_constraint(
        op.f("ck_product_offering_price_kind_shape"), p,
        "(kind = 'recurring' AND period IS NOT NULL AND usage_type IS NULL)"
        " OR (kind = 'usage' AND usage_type IS NOT NULL AND period IS NULL)",
    )
    for col in ("last_update", "description", "lifecycle_status", "charge_timing", "usage_model", "tiers",
                "included_units", "percentage", "applies_to", "duration_periods", "promotion_code",
                "requires_offerings", "segment", "change_policy"):
        op.drop_column(p, col)
    for col in ("offering_id", "amount", "currency"):
        op.alter_column(p, col, nullable=False)
    o = "product_offering"
    op.drop_constraint(op.f("uq_product_offering_experiment_name_experiment_variant"), o, type_="unique")
    op.drop_constraint(op.f("ck_product_offering_experiment_whole"), o, type_="check")
    op.drop_index(op.f("ix_product_offering_experiment_name"), table_name=o)
    op.drop_index(op.f("ix_product_offering_spec_id"), table_name=o)
    op.drop_constraint(op.f("fk_product_offering_spec_id_product_specification"), o, type_="foreignkey")
    for col in ("last_update", "version", "is_sellable", "valid_from", "valid_to", "is_bundle",
                "bundled_offering_ids", "spec_id", "spec_ref", "category_ids", "segments", "countries", "channels",
                "experiment_name", "experiment_variant", "experiment_segment"):
        op.drop_column(o, col)
    op.drop_table("product_specification")
    op.drop_index(op.f("ix_category_parent_id"), table_name="category")
    op.drop_table("category")
    op.drop_table("product_catalog")
