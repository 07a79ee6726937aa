"""Rating tables: stored rate tables (immutable versions), allowance buckets, and TMF677 consumption queries."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from openbss.db.metadata import QUANTITY, created_at, id_column, metadata

# One row per version of a named rate table; a version is never updated (rerating compares versions).
rate_table = sa.Table(
    "rate_table",
    metadata,
    id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("holidays", sa.ARRAY(sa.Date), nullable=False, server_default="{}"),
    # zones, prefixes, rates with validFor, bands: rating.document.to_document's form
    sa.Column("document", JSONB, nullable=False),
    created_at(),
    sa.UniqueConstraint("name", "version"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# Included units of one owner (a product, or the root account of a hierarchy pool) for one usage type and one
# bill cycle period of the owner's account. Left = rolled_over + granted - used.
allowance_bucket = sa.Table(
    "allowance_bucket",
    metadata,
    id_column(),
    sa.Column("owner_kind", sa.Text, nullable=False),
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("account_id", UUID(as_uuid=True), nullable=False, index=True),  # the owner's account (partitioning)
    sa.Column("price_id", UUID(as_uuid=True), nullable=False),  # the price whose includedUnits were granted
    sa.Column("usage_type", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("granted", QUANTITY, nullable=False),
    sa.Column("rolled_over", QUANTITY, nullable=False, server_default="0"),
    sa.Column("used", QUANTITY, nullable=False, server_default="0"),
    created_at(),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("owner_kind", "owner_id", "usage_type", "period_start"),
    sa.CheckConstraint("owner_kind IN ('product', 'account')", name="owner_kind_known"),
    sa.CheckConstraint("granted >= 0 AND rolled_over >= 0 AND used >= 0", name="not_negative"),
    sa.CheckConstraint("used <= granted + rolled_over", name="not_overdrawn"),
    sa.CheckConstraint("period_end > period_start", name="period_ordered"),
)

# TMF677 queryUsageConsumption: the search criteria and the consumption computed when it was posted.
usage_consumption_query = sa.Table(
    "usage_consumption_query",
    metadata,
    id_column(),
    created_at(),
    sa.Column("search_criteria", JSONB, nullable=False),
    sa.Column("usage_consumption", JSONB, nullable=False),
)
