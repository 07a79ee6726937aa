"""billing: more line kinds (discount, oneTime, fee), credits that name the line they reverse, billed lines
found per product (a child's lines sit on its parent's invoice)

Revision ID: 0003_billing
Revises: 0002_catalog, 0002_events, 0002_ordering, 0002_party
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_billing'
down_revision = ("0002_catalog", "0002_events", "0002_ordering", "0002_party")
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing lines are all 'recurring' or 'usage' and none reverses another: they stay valid as they are.
    op.add_column('invoice_line', sa.Column('reverses_id', sa.UUID(), nullable=True))
    op.create_foreign_key(op.f('fk_invoice_line_reverses_id_invoice_line'), 'invoice_line', 'invoice_line',
                          ['reverses_id'], ['id'])
    op.drop_constraint(op.f('ck_invoice_line_kind'), 'invoice_line', type_='check')
    op.create_check_constraint(op.f('ck_invoice_line_kind'), 'invoice_line',
                               "kind IN ('recurring', 'discount', 'oneTime', 'fee', 'usage')")
    op.drop_index('ix_invoice_line_recurring', table_name='invoice_line', postgresql_where=sa.text("kind = 'recurring'"))
    op.create_index('ix_invoice_line_billed', 'invoice_line', ['product_id'], unique=False,
                    postgresql_where=sa.text("kind <> 'usage'"))


def downgrade() -> None:
    op.drop_index('ix_invoice_line_billed', table_name='invoice_line', postgresql_where=sa.text("kind <> 'usage'"))
    op.create_index('ix_invoice_line_recurring', 'invoice_line', ['account_id', 'product_id'], unique=False,
                    postgresql_where=sa.text("kind = 'recurring'"))
    op.drop_constraint(op.f('ck_invoice_line_kind'), 'invoice_line', type_='check')
    op.create_check_constraint(op.f('ck_invoice_line_kind'), 'invoice_line', "kind IN ('recurring', 'usage')")
    op.drop_constraint(op.f('fk_invoice_line_reverses_id_invoice_line'), 'invoice_line', type_='foreignkey')
    op.drop_column('invoice_line', 'reverses_id')
