"""ordering: order capture and state machine, TMF637 product statuses, contract terms, trials, product events

Existing orders, items and products survive: every new column is nullable or has a default, an item's new
TMF id (`label`) is its old public id (so links already handed out stay valid), and its state is its order's.

Revision ID: 0002_ordering
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_ordering'
down_revision = '0001'
branch_labels = None
depends_on = None

ORDER_STATES = "'acknowledged', 'inProgress', 'pendingCancellation', 'completed', 'failed', 'partial', 'cancelled'"
PRODUCT_STATUSES = ("'created', 'pendingActive', 'active', 'suspended', 'pendingTerminate', 'cancelled', 'aborted', "
                    "'terminated'")
LIVE = "status IN ('created', 'pendingActive', 'active', 'suspended', 'pendingTerminate')"
EVENT_KINDS = ("'activated', 'upgraded', 'downgraded', 'suspended', 'resumed', 'cancelled', 'renewed', "
               "'trial_started', 'trial_converted'")
FEE_PAIRED = '(etf_amount IS NULL) = (etf_currency IS NULL)'
EMPTY_LIST = sa.text("'[]'::jsonb")


def upgrade() -> None:
    op.alter_column('product_order', 'account_id', nullable=True)
    for name, type_ in (('requested_completion', sa.DateTime(timezone=True)),
                        ('cancelled_at', sa.DateTime(timezone=True)), ('cancellation_reason', sa.Text()),
                        ('external_id', sa.Text()), ('category', sa.Text()), ('priority', sa.Text()),
                        ('description', sa.Text()), ('channel', sa.Text())):
        op.add_column('product_order', sa.Column(name, type_, nullable=True))
    op.add_column('product_order', sa.Column('notes', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                             server_default=EMPTY_LIST))
    op.add_column('product_order', sa.Column('related_party', postgresql.JSONB(astext_type=sa.Text()),
                                             nullable=False, server_default=EMPTY_LIST))
    op.create_check_constraint(op.f('ck_product_order_state_known'), 'product_order', f'state IN ({ORDER_STATES})')
    op.create_index('ix_product_order_due', 'product_order', ['requested_start'], unique=False,
                    postgresql_where=sa.text("state = 'inProgress'"))

    for name, type_ in (('trial_end_at', sa.DateTime(timezone=True)), ('term_months', sa.Integer()),
                        ('term_start_at', sa.DateTime(timezone=True)), ('term_end_at', sa.DateTime(timezone=True)),
                        ('etf_amount', sa.Numeric(precision=20, scale=6)), ('etf_currency', sa.CHAR(length=3))):
        op.add_column('product', sa.Column(name, type_, nullable=True))
    op.add_column('product', sa.Column('auto_renew', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('product', sa.Column('related_party', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                       server_default=EMPTY_LIST))
    op.drop_constraint(op.f('ck_product_status_known'), 'product', type_='check')
    op.create_check_constraint(op.f('ck_product_status_known'), 'product', f'status IN ({PRODUCT_STATUSES})')
    op.create_check_constraint(
        op.f('ck_product_term_complete'), 'product',
        '(term_months IS NULL) = (term_start_at IS NULL) AND (term_months IS NULL) = (term_end_at IS NULL)'
        ' AND (term_months IS NULL OR term_months > 0)')
    op.create_check_constraint(op.f('ck_product_etf_paired'), 'product', FEE_PAIRED)
    # Created before the old one is dropped, so no instant exists without the guarantee.
    op.create_index('uq_product_live_service_id', 'product', ['service_id'], unique=True,
                    postgresql_where=sa.text(LIVE))
    op.drop_index('uq_product_active_service_id', table_name='product')

    for name in ('account_id', 'offering_id', 'service_id', 'product_id'):
        op.alter_column('product_order_item', name, nullable=True)
    op.add_column('product_order_item', sa.Column('label', sa.Text(), nullable=True))
    op.add_column('product_order_item', sa.Column('state', sa.Text(), nullable=True))
    op.execute("UPDATE product_order_item i SET label = i.id::text, state = o.state "
               "FROM product_order o WHERE o.id = i.order_id")
    op.alter_column('product_order_item', 'label', nullable=False)
    op.alter_column('product_order_item', 'state', nullable=False)
    for name, type_ in (('trial_days', sa.Integer()), ('term_months', sa.Integer()),
                        ('etf_amount', sa.Numeric(precision=20, scale=6)), ('etf_currency', sa.CHAR(length=3))):
        op.add_column('product_order_item', sa.Column(name, type_, nullable=True))
    op.add_column('product_order_item', sa.Column('auto_renew', sa.Boolean(), nullable=False,
                                                  server_default=sa.false()))
    op.create_check_constraint(op.f('ck_product_order_item_etf_paired'), 'product_order_item', FEE_PAIRED)
    op.create_unique_constraint(op.f('uq_product_order_item_order_id_label'), 'product_order_item',
                                ['order_id', 'label'])

    op.create_table('product_event',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('product_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offering_id', sa.UUID(), nullable=False),
    sa.Column('from_offering_id', sa.UUID(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint(f'kind IN ({EVENT_KINDS})', name=op.f('ck_product_event_kind_known')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_event_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_event')),
    sa.UniqueConstraint('product_id', 'kind', 'at', name=op.f('uq_product_event_product_id_kind_at'))
    )
    op.create_index('ix_product_event_account_at', 'product_event', ['account_id', 'at'], unique=False)
    # Products that existed before events did: their activation is history billing must see too.
    op.execute("INSERT INTO product_event (id, created_at, product_id, account_id, kind, at, offering_id, details) "
               "SELECT gen_random_uuid(), created_at, id, account_id, 'activated', start_at, offering_id, "
               "jsonb_build_object('orderId', order_id, 'serviceId', service_id) FROM product")
    op.execute("INSERT INTO product_event (id, created_at, product_id, account_id, kind, at, offering_id, details) "
               "SELECT gen_random_uuid(), created_at, id, account_id, 'cancelled', end_at, offering_id, "
               "jsonb_build_object('when', 'immediate') FROM product WHERE status = 'terminated'")


def downgrade() -> None:
    op.drop_index('ix_product_event_account_at', table_name='product_event')
    op.drop_table('product_event')
    op.drop_constraint(op.f('uq_product_order_item_order_id_label'), 'product_order_item', type_='unique')
    op.drop_constraint(op.f('ck_product_order_item_etf_paired'), 'product_order_item', type_='check')
    for name in ('auto_renew', 'etf_currency', 'etf_amount', 'term_months', 'trial_days', 'state', 'label'):
        op.drop_column('product_order_item', name)
    # Fails, as it should, while captured orders without an account or items without a product exist.
    for name in ('account_id', 'offering_id', 'service_id', 'product_id'):
        op.alter_column('product_order_item', name, nullable=False)
    op.create_index('uq_product_active_service_id', 'product', ['service_id'], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.drop_index('uq_product_live_service_id', table_name='product')
    for name in ('ck_product_etf_paired', 'ck_product_term_complete', 'ck_product_status_known'):
        op.drop_constraint(op.f(name), 'product', type_='check')
    op.create_check_constraint(op.f('ck_product_status_known'), 'product', "status IN ('active', 'terminated')")
    for name in ('related_party', 'auto_renew', 'etf_currency', 'etf_amount', 'term_end_at', 'term_start_at',
                 'term_months', 'trial_end_at'):
        op.drop_column('product', name)
    op.drop_index('ix_product_order_due', table_name='product_order',
                  postgresql_where=sa.text("state = 'inProgress'"))
    op.drop_constraint(op.f('ck_product_order_state_known'), 'product_order', type_='check')
    for name in ('related_party', 'notes', 'channel', 'description', 'priority', 'category', 'external_id',
                 'cancellation_reason', 'cancelled_at', 'requested_completion'):
        op.drop_column('product_order', name)
    op.alter_column('product_order', 'account_id', nullable=False)
