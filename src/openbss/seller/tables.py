"""The seller profile: one row per installation (the `singleton` column is unique and always true)."""

import sqlalchemy as sa

from openbss.db.metadata import created_at, id_column, metadata

seller_profile = sa.Table(
    "seller_profile",
    metadata,
    id_column(),
    created_at(),
    sa.Column("singleton", sa.Boolean, nullable=False, server_default=sa.true(), unique=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("trading_name", sa.Text),
    sa.Column("street", sa.Text),
    sa.Column("additional_street", sa.Text),
    sa.Column("city", sa.Text),
    sa.Column("post_code", sa.Text),
    sa.Column("subdivision", sa.Text),
    sa.Column("country", sa.CHAR(2), nullable=False),
    sa.Column("vat_id", sa.Text, nullable=False),
    sa.Column("registration_id", sa.Text),
    sa.Column("iban", sa.Text),
    sa.Column("bic", sa.Text),
    sa.Column("electronic_address_scheme", sa.Text),
    sa.Column("electronic_address", sa.Text),
    sa.Column("contact_name", sa.Text),
    sa.Column("contact_phone", sa.Text),
    sa.Column("contact_email", sa.Text),
    sa.Column("invoice_note", sa.Text),
    sa.CheckConstraint("singleton", name="singleton"),
    sa.CheckConstraint("(electronic_address IS NULL) = (electronic_address_scheme IS NULL)", name="electronic_address"),
)
