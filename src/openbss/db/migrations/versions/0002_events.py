"""events: TMF688 hub listeners, the transactional outbox and per-listener deliveries

Revision ID: 0002_events
Revises: 0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_events'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hub_listener',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('api', sa.Text(), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('event_types', postgresql.ARRAY(sa.Text()), nullable=True),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_listener')),
    sa.UniqueConstraint('api', 'callback', name=op.f('uq_hub_listener_api_callback'))
    )
    op.create_table('outbox_event',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('api', sa.Text(), nullable=False),
    sa.Column('resource_type', sa.Text(), nullable=False),
    sa.Column('resource_id', sa.UUID(), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSON(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_event'))
    )
    op.create_index(op.f('ix_outbox_event_resource_id'), 'outbox_event', ['resource_id'], unique=False)
    op.create_table('event_delivery',
    sa.Column('event_id', sa.UUID(), nullable=False),
    sa.Column('listener_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)",
                       name=op.f('ck_event_delivery_pending_has_next_attempt')),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_event_delivery_status')),
    sa.ForeignKeyConstraint(['event_id'], ['outbox_event.id'], name=op.f('fk_event_delivery_event_id_outbox_event')),
    sa.ForeignKeyConstraint(['listener_id'], ['hub_listener.id'],
                            name=op.f('fk_event_delivery_listener_id_hub_listener'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'listener_id', name=op.f('pk_event_delivery'))
    )
    op.create_index('ix_event_delivery_due', 'event_delivery', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index(op.f('ix_event_delivery_listener_id'), 'event_delivery', ['listener_id'], unique=False)


def downgrade() -> None:
    op.drop_table('event_delivery')
    op.drop_table('outbox_event')
    op.drop_table('hub_listener')
