"""seller profile: the operator's legal identity printed as the seller on every invoice (EN 16931 BG-4)

Revision ID: 0012_seller_profile
Revises: 0011_usage_partial
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_seller_profile"
down_revision = "0011_usage_partial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_profile",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("singleton", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("trading_name", sa.Text(), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("additional_street", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("post_code", sa.Text(), nullable=True),
        sa.Column("subdivision", sa.Text(), nullable=True),
        sa.Column("country", sa.CHAR(2), nullable=False),
        sa.Column("vat_id", sa.Text(), nullable=False),
        sa.Column("registration_id", sa.Text(), nullable=True),
        sa.Column("iban", sa.Text(), nullable=True),
        sa.Column("bic", sa.Text(), nullable=True),
        sa.Column("electronic_address_scheme", sa.Text(), nullable=True),
        sa.Column("electronic_address", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("invoice_note", sa.Text(), nullable=True),
        sa.CheckConstraint("singleton", name=op.f("ck_seller_profile_singleton")),
        sa.CheckConstraint("(electronic_address IS NULL) = (electronic_address_scheme IS NULL)",
                           name=op.f("ck_seller_profile_electronic_address")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_profile")),
        sa.UniqueConstraint("singleton", name=op.f("uq_seller_profile_singleton")),
    )


def downgrade() -> None:
    op.drop_table("seller_profile")
