"""party: TMF632 individuals and organizations, customers as party roles, billing account terms and hierarchies

Every existing customer becomes the customer role of an individual with the same id (the id the foundation
already showed as its engagedParty) and the customer's name; its e-mail becomes an e-mail contact medium.

Revision ID: 0002_party
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_party'
down_revision = '0001'
branch_labels = None
depends_on = None

JSONB = postgresql.JSONB(astext_type=sa.Text())
EMPTY_LIST = sa.text("'[]'::jsonb")


def _json_list(name: str) -> sa.Column:
    return sa.Column(name, JSONB, nullable=False, server_default=EMPTY_LIST)


def _add_updated_at(table: str) -> None:
    op.add_column(table, sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(f'UPDATE {table} SET updated_at = created_at')
    op.alter_column(table, 'updated_at', nullable=False)


def upgrade() -> None:
    op.create_table('party',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('given_name', sa.Text(), nullable=True),
    sa.Column('family_name', sa.Text(), nullable=True),
    sa.Column('middle_name', sa.Text(), nullable=True),
    sa.Column('full_name', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('trading_name', sa.Text(), nullable=True),
    sa.Column('organization_type', sa.Text(), nullable=True),
    sa.Column('is_legal_entity', sa.Boolean(), nullable=True),
    _json_list('contact_medium'),
    _json_list('characteristic'),
    _json_list('external_reference'),
    sa.Column('attributes', JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('Individual', 'Organization')", name=op.f('ck_party_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party'))
    )
    op.create_table('account_document',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('body', JSONB, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_document'))
    )
    op.create_index(op.f('ix_account_document_kind'), 'account_document', ['kind'], unique=False)

    # Customers: the role of a party.
    _add_updated_at('customer')
    op.add_column('customer', sa.Column('party_id', sa.UUID(), nullable=True))
    op.add_column('customer', sa.Column('party_ref', JSONB, nullable=True))
    op.add_column('customer', sa.Column('status_reason', sa.Text(), nullable=True))
    op.add_column('customer', sa.Column('segment', sa.Text(), nullable=True))
    op.add_column('customer', _json_list('contact_medium'))
    op.add_column('customer', _json_list('characteristic'))
    op.add_column('customer', _json_list('related_party'))
    op.add_column('customer', sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True))
    op.add_column('customer', sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True))
    op.execute("""
        INSERT INTO party (id, created_at, updated_at, kind, status, full_name)
        SELECT id, created_at, created_at, 'Individual', 'initialized', name FROM customer
    """)
    op.execute("""
        UPDATE customer SET party_id = id, valid_from = created_at,
            contact_medium = CASE WHEN email IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
                'mediumType', 'email', 'characteristic', jsonb_build_object('emailAddress', email))) END
    """)
    op.drop_column('customer', 'email')
    op.create_index(op.f('ix_customer_party_id'), 'customer', ['party_id'], unique=False)
    op.create_foreign_key(op.f('fk_customer_party_id_party'), 'customer', 'party', ['party_id'], ['id'])
    op.create_check_constraint(op.f('ck_customer_one_engaged_party'), 'customer',
                               '(party_id IS NULL) <> (party_ref IS NULL)')

    # Billing accounts: terms, tax, hierarchy; currency and country may wait while the account is pending.
    _add_updated_at('billing_account')
    op.alter_column('billing_account', 'customer_id', nullable=True)
    op.alter_column('billing_account', 'currency', nullable=True)
    op.alter_column('billing_account', 'country', nullable=True)
    op.add_column('billing_account', sa.Column('description', sa.Text(), nullable=True))
    op.add_column('billing_account', sa.Column('payment_terms_days', sa.SmallInteger(), nullable=False,
                                               server_default=sa.text('14')))
    op.add_column('billing_account', sa.Column('credit_limit', sa.Numeric(precision=20, scale=6), nullable=True))
    op.add_column('billing_account', sa.Column('vat_id', sa.Text(), nullable=True))
    op.add_column('billing_account', _json_list('tax_exemption'))
    op.add_column('billing_account', sa.Column('parent_id', sa.UUID(), nullable=True))
    op.add_column('billing_account', sa.Column('parent_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('billing_account', sa.Column('bill_to_parent', sa.Boolean(), nullable=False,
                                               server_default=sa.false()))
    op.add_column('billing_account', _json_list('related_party'))
    op.create_index(op.f('ix_billing_account_parent_id'), 'billing_account', ['parent_id'], unique=False)
    op.create_foreign_key(op.f('fk_billing_account_parent_id_billing_account'), 'billing_account',
                          'billing_account', ['parent_id'], ['id'])
    for name, condition in (
        ('billable', "state = 'pending' OR (currency IS NOT NULL AND country IS NOT NULL)"),
        ('parent_pays_needs_parent', 'NOT bill_to_parent OR parent_id IS NOT NULL'),
        ('not_own_parent', 'parent_id <> id'),
        ('payment_terms_range', 'payment_terms_days BETWEEN 0 AND 365'),
    ):
        op.create_check_constraint(op.f(f'ck_billing_account_{name}'), 'billing_account', condition)


def downgrade() -> None:
    op.execute("DELETE FROM billing_account WHERE currency IS NULL OR country IS NULL OR customer_id IS NULL")
    for name in ('billable', 'parent_pays_needs_parent', 'not_own_parent', 'payment_terms_range'):
        op.drop_constraint(op.f(f'ck_billing_account_{name}'), 'billing_account', type_='check')
    op.drop_constraint(op.f('fk_billing_account_parent_id_billing_account'), 'billing_account', type_='foreignkey')
    op.drop_index(op.f('ix_billing_account_parent_id'), table_name='billing_account')
    for column in ('related_party', 'bill_to_parent', 'parent_since', 'parent_id', 'tax_exemption', 'vat_id',
                   'credit_limit', 'payment_terms_days', 'description', 'updated_at'):
        op.drop_column('billing_account', column)
    for column in ('customer_id', 'currency', 'country'):
        op.alter_column('billing_account', column, nullable=False)

    op.add_column('customer', sa.Column('email', sa.Text(), nullable=True))
    op.execute("""
        UPDATE customer SET email = (SELECT m -> 'characteristic' ->> 'emailAddress'
            FROM jsonb_array_elements(contact_medium) m WHERE m ->> 'mediumType' = 'email' LIMIT 1)
    """)
    op.drop_constraint(op.f('ck_customer_one_engaged_party'), 'customer', type_='check')
    op.drop_constraint(op.f('fk_customer_party_id_party'), 'customer', type_='foreignkey')
    op.drop_index(op.f('ix_customer_party_id'), table_name='customer')
    for column in ('valid_to', 'valid_from', 'related_party', 'characteristic', 'contact_medium', 'segment',
                   'status_reason', 'party_ref', 'party_id', 'updated_at'):
        op.drop_column('customer', column)
    op.drop_index(op.f('ix_account_document_kind'), table_name='account_document')
    op.drop_table('account_document')
    op.drop_table('party')
