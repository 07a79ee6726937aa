"""initial schema: the foundation slice (issue #2), with the immutability guards of issued documents

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_key',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('prefix', sa.Text(), nullable=False),
    sa.Column('secret_hash', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('name', name=op.f('uq_api_key_name')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_key_prefix'))
    )
    op.create_table('audit_record',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('entity_type', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.UUID(), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_record'))
    )
    op.create_index(op.f('ix_audit_record_entity_id'), 'audit_record', ['entity_id'], unique=False)
    op.create_table('customer',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer'))
    )
    op.create_table('idempotency_key',
    sa.Column('principal', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_hash', sa.Text(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('principal', 'key', name=op.f('pk_idempotency_key'))
    )
    op.create_table('invoice',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('time_zone', sa.Text(), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('net_total', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('gross_total', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('amount_paid', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.CheckConstraint("state IN ('sent', 'partiallyPaid', 'settled')", name=op.f('ck_invoice_state')),
    sa.CheckConstraint('amount_paid >= 0 AND amount_paid <= gross_total', name=op.f('ck_invoice_paid_within_gross')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('account_id', 'period_start', name=op.f('uq_invoice_account_id_period_start')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number'))
    )
    op.create_index(op.f('ix_invoice_account_id'), 'invoice', ['account_id'], unique=False)
    op.create_table('journal_entry',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('source_type', sa.Text(), nullable=False),
    sa.Column('source_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.CHAR(length=64), nullable=False),
    sa.Column('hash', sa.CHAR(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entry')),
    sa.UniqueConstraint('seq', name=op.f('uq_journal_entry_seq')),
    sa.UniqueConstraint('source_type', 'source_id', name='uq_journal_entry_source')
    )
    op.create_index(op.f('ix_journal_entry_account_id'), 'journal_entry', ['account_id'], unique=False)
    op.create_table('number_series',
    sa.Column('series', sa.Text(), nullable=False),
    sa.Column('last_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('series', name=op.f('pk_number_series'))
    )
    op.create_table('payment',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('external_ref', sa.Text(), nullable=True),
    sa.Column('idempotency_key', sa.Text(), nullable=True),
    sa.Column('unallocated', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.CheckConstraint('amount > 0 AND unallocated >= 0 AND unallocated <= amount', name=op.f('ck_payment_amounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_idempotency_key'))
    )
    op.create_index(op.f('ix_payment_account_id'), 'payment', ['account_id'], unique=False)
    op.create_table('product_offering',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lifecycle_status', sa.Text(), nullable=False),
    sa.Column('tax_category', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_offering'))
    )
    op.create_table('product_order',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('requested_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_order'))
    )
    op.create_index(op.f('ix_product_order_account_id'), 'product_order', ['account_id'], unique=False)
    op.create_table('usage',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('product_id', sa.UUID(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('record_key', sa.Text(), nullable=False),
    sa.Column('service_id', sa.Text(), nullable=False),
    sa.Column('usage_type', sa.Text(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('usage_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('charge', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('price_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=True),
    sa.CheckConstraint("(status = 'billed') = (invoice_id IS NOT NULL)", name=op.f('ck_usage_billed_has_invoice')),
    sa.CheckConstraint("status IN ('rated', 'billed')", name=op.f('ck_usage_status')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_usage_quantity_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage')),
    sa.UniqueConstraint('source', 'record_key', name=op.f('uq_usage_source_record_key'))
    )
    op.create_index('ix_usage_account_status_date', 'usage', ['account_id', 'status', 'usage_date'], unique=False)
    op.create_table('billing_account',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('country', sa.CHAR(length=2), nullable=False),
    sa.Column('bill_cycle_day', sa.SmallInteger(), nullable=False),
    sa.Column('time_zone', sa.Text(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.CheckConstraint('bill_cycle_day BETWEEN 1 AND 28', name=op.f('ck_billing_account_bill_cycle_day_range')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_billing_account_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_account')),
    sa.UniqueConstraint('number', name=op.f('uq_billing_account_number'))
    )
    op.create_index(op.f('ix_billing_account_customer_id'), 'billing_account', ['customer_id'], unique=False)
    op.create_table('invoice_line',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('product_id', sa.UUID(), nullable=False),
    sa.Column('offering_id', sa.UUID(), nullable=False),
    sa.Column('usage_type', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('service_start', sa.Date(), nullable=True),
    sa.Column('service_end', sa.Date(), nullable=True),
    sa.Column('net_amount', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('tax_category', sa.Text(), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=6), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.CheckConstraint("kind IN ('recurring', 'usage')", name=op.f('ck_invoice_line_kind')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'line_no', name=op.f('uq_invoice_line_invoice_id_line_no'))
    )
    op.create_index(op.f('ix_invoice_line_invoice_id'), 'invoice_line', ['invoice_id'], unique=False)
    op.create_index('ix_invoice_line_recurring', 'invoice_line', ['account_id', 'product_id'], unique=False, postgresql_where=sa.text("kind = 'recurring'"))
    op.create_table('invoice_tax',
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('tax_category', sa.Text(), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=6), nullable=False),
    sa.Column('taxable_amount', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_tax_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('invoice_id', 'tax_category', 'tax_rate', name=op.f('pk_invoice_tax'))
    )
    op.create_table('journal_line',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('entry_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('gl_account', sa.Text(), nullable=False),
    sa.Column('debit', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('credit', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.CheckConstraint('debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)', name=op.f('ck_journal_line_one_side')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entry.id'], name=op.f('fk_journal_line_entry_id_journal_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_line'))
    )
    op.create_index('ix_journal_line_account_gl', 'journal_line', ['account_id', 'gl_account'], unique=False)
    op.create_index(op.f('ix_journal_line_entry_id'), 'journal_line', ['entry_id'], unique=False)
    op.create_table('payment_allocation',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_allocation_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_payment_allocation_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocation')),
    sa.UniqueConstraint('payment_id', 'invoice_id', name='uq_payment_allocation_invoice')
    )
    op.create_index(op.f('ix_payment_allocation_invoice_id'), 'payment_allocation', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_payment_allocation_payment_id'), 'payment_allocation', ['payment_id'], unique=False)
    op.create_table('product',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('offering_id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('service_id', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'terminated')", name=op.f('ck_product_status_known')),
    sa.CheckConstraint('end_at IS NULL OR end_at >= start_at', name=op.f('ck_product_life_ordered')),
    sa.ForeignKeyConstraint(['order_id'], ['product_order.id'], name=op.f('fk_product_order_id_product_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product'))
    )
    op.create_index(op.f('ix_product_account_id'), 'product', ['account_id'], unique=False)
    op.create_index(op.f('ix_product_order_id'), 'product', ['order_id'], unique=False)
    op.create_index(op.f('ix_product_service_id'), 'product', ['service_id'], unique=False)
    op.create_index('uq_product_active_service_id', 'product', ['service_id'], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('product_offering_price',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('offering_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('period', sa.Text(), nullable=True),
    sa.Column('usage_type', sa.Text(), nullable=True),
    sa.Column('unit_size', sa.Numeric(precision=24, scale=6), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'recurring' AND period IS NOT NULL AND usage_type IS NULL) OR (kind = 'usage' AND usage_type IS NOT NULL AND period IS NULL)", name=op.f('ck_product_offering_price_kind_shape')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_product_offering_price_amount_not_negative')),
    sa.CheckConstraint('unit_size > 0', name=op.f('ck_product_offering_price_unit_size_positive')),
    sa.ForeignKeyConstraint(['offering_id'], ['product_offering.id'], name=op.f('fk_product_offering_price_offering_id_product_offering')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_offering_price'))
    )
    op.create_index(op.f('ix_product_offering_price_offering_id'), 'product_offering_price', ['offering_id'], unique=False)
    op.create_table('product_order_item',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('offering_id', sa.UUID(), nullable=False),
    sa.Column('service_id', sa.Text(), nullable=False),
    sa.Column('product_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['product_order.id'], name=op.f('fk_product_order_item_order_id_product_order')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_order_item_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_order_item'))
    )
    op.create_index(op.f('ix_product_order_item_account_id'), 'product_order_item', ['account_id'], unique=False)
    op.create_index(op.f('ix_product_order_item_order_id'), 'product_order_item', ['order_id'], unique=False)
    _immutability_guards()


# Issued invoices, journal entries and the audit trail are never changed: corrections are new documents.
# The database enforces it, so no code path (or hand-written SQL) can edit history by accident. The
# ledger's hash chain additionally detects changes made by someone who bypasses these triggers.
APPEND_ONLY = ("invoice_line", "invoice_tax", "journal_entry", "journal_line", "audit_record")


def _immutability_guards() -> None:
    op.execute("""
        CREATE FUNCTION openbss_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on % is not allowed: rows of % are immutable, post a correction instead',
                TG_OP, TG_TABLE_NAME, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END $$
    """)
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")
    # An issued invoice changes only in how much of it is paid.
    op.execute("""
        CREATE FUNCTION openbss_invoice_settlement_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR (to_jsonb(NEW) - 'amount_paid' - 'state')
                    IS DISTINCT FROM (to_jsonb(OLD) - 'amount_paid' - 'state') THEN
                RAISE EXCEPTION '% of issued invoice % is not allowed: only amount_paid and state change, '
                    'corrections are credit notes', TG_OP, OLD.number USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$
    """)
    op.execute("CREATE TRIGGER invoice_settlement_only BEFORE UPDATE OR DELETE ON invoice "
               "FOR EACH ROW EXECUTE FUNCTION openbss_invoice_settlement_only()")



def downgrade() -> None:
    op.drop_index(op.f('ix_product_order_item_order_id'), table_name='product_order_item')
    op.drop_index(op.f('ix_product_order_item_account_id'), table_name='product_order_item')
    op.drop_table('product_order_item')
    op.drop_index(op.f('ix_product_offering_price_offering_id'), table_name='product_offering_price')
    op.drop_table('product_offering_price')
    op.drop_index('uq_product_active_service_id', table_name='product', postgresql_where=sa.text("status = 'active'"))
    op.drop_index(op.f('ix_product_service_id'), table_name='product')
    op.drop_index(op.f('ix_product_order_id'), table_name='product')
    op.drop_index(op.f('ix_product_account_id'), table_name='product')
    op.drop_table('product')
    op.drop_index(op.f('ix_payment_allocation_payment_id'), table_name='payment_allocation')
    op.drop_index(op.f('ix_payment_allocation_invoice_id'), table_name='payment_allocation')
    op.drop_table('payment_allocation')
    op.drop_index(op.f('ix_journal_line_entry_id'), table_name='journal_line')
    op.drop_index('ix_journal_line_account_gl', table_name='journal_line')
    op.drop_table('journal_line')
    op.drop_table('invoice_tax')
    op.drop_index('ix_invoice_line_recurring', table_name='invoice_line', postgresql_where=sa.text("kind = 'recurring'"))
    op.drop_index(op.f('ix_invoice_line_invoice_id'), table_name='invoice_line')
    op.drop_table('invoice_line')
    op.drop_index(op.f('ix_billing_account_customer_id'), table_name='billing_account')
    op.drop_table('billing_account')
    op.drop_index('ix_usage_account_status_date', table_name='usage')
    op.drop_table('usage')
    op.drop_index(op.f('ix_product_order_account_id'), table_name='product_order')
    op.drop_table('product_order')
    op.drop_table('product_offering')
    op.drop_index(op.f('ix_payment_account_id'), table_name='payment')
    op.drop_table('payment')
    op.drop_table('number_series')
    op.drop_index(op.f('ix_journal_entry_account_id'), table_name='journal_entry')
    op.drop_table('journal_entry')
    op.drop_index(op.f('ix_invoice_account_id'), table_name='invoice')
    op.drop_table('invoice')
    op.drop_table('idempotency_key')
    op.drop_table('customer')
    op.drop_index(op.f('ix_audit_record_entity_id'), table_name='audit_record')
    op.drop_table('audit_record')
    op.drop_table('api_key')
    op.execute("DROP FUNCTION openbss_invoice_settlement_only()")
    op.execute("DROP FUNCTION openbss_append_only()")
