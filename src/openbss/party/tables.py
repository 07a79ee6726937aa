import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from openbss.db.metadata import MONEY, created_at, id_column, metadata, uuid_ref


def _updated_at() -> sa.Column:
    return sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)


def _json_list(name: str) -> sa.Column:
    return sa.Column(name, JSONB, nullable=False, server_default=sa.text("'[]'::jsonb"))


party = sa.Table(
    "party",
    metadata,
    id_column(),
    created_at(),
    _updated_at(),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("given_name", sa.Text),
    sa.Column("family_name", sa.Text),
    sa.Column("middle_name", sa.Text),
    sa.Column("full_name", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("birth_date", sa.Date),
    sa.Column("name", sa.Text),
    sa.Column("trading_name", sa.Text),
    sa.Column("organization_type", sa.Text),
    sa.Column("is_legal_entity", sa.Boolean),
    _json_list("contact_medium"),
    _json_list("characteristic"),
    _json_list("external_reference"),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("erased_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("kind IN ('Individual', 'Organization')", name="kind"),
)

customer = sa.Table(
    "customer",
    metadata,
    id_column(),
    created_at(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    _updated_at(),
    # The engaged party: one held here (party_id), or a reference into another party register (party_ref).
    uuid_ref("party_id", "party.id", nullable=True, index=True),
    sa.Column("party_ref", JSONB(none_as_null=True)),
    sa.Column("status_reason", sa.Text),
    sa.Column("segment", sa.Text),
    _json_list("contact_medium"),
    _json_list("characteristic"),
    _json_list("related_party"),
    sa.Column("valid_from", sa.DateTime(timezone=True)),
    sa.Column("valid_to", sa.DateTime(timezone=True)),
    sa.CheckConstraint("(party_id IS NULL) <> (party_ref IS NULL)", name="one_engaged_party"),
)

billing_account = sa.Table(
    "billing_account",
    metadata,
    id_column(),
    created_at(),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    uuid_ref("customer_id", "customer.id", nullable=True, index=True),
    sa.Column("currency", sa.CHAR(3)),
    sa.Column("country", sa.CHAR(2)),
    sa.Column("bill_cycle_day", sa.SmallInteger, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    _updated_at(),
    sa.Column("description", sa.Text),
    sa.Column("payment_terms_days", sa.SmallInteger, nullable=False, server_default=sa.text("14")),
    sa.Column("credit_limit", MONEY),
    sa.Column("vat_id", sa.Text),
    _json_list("tax_exemption"),
    uuid_ref("parent_id", "billing_account.id", nullable=True, index=True),
    sa.Column("parent_since", sa.DateTime(timezone=True)),
    sa.Column("bill_to_parent", sa.Boolean, nullable=False, server_default=sa.false()),
    _json_list("related_party"),
    # The bill cycle beyond its day and zone (billing.periods.BillCycle); the defaults are the monthly cycle
    # every account had before these columns existed.
    sa.Column("bill_frequency", sa.Text, nullable=False, server_default="month"),
    sa.Column("cycle_alignment", sa.Text, nullable=False, server_default="calendar"),
    sa.Column("cycle_anchor", sa.Date, nullable=False),
    sa.Column("grace_days", sa.SmallInteger, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("bill_cycle_day BETWEEN 1 AND 28", name="bill_cycle_day_range"),
    sa.CheckConstraint("bill_frequency IN ('month', 'quarter', 'year')", name="bill_frequency_known"),
    sa.CheckConstraint("cycle_alignment IN ('calendar', 'anniversary')", name="cycle_alignment_known"),
    sa.CheckConstraint("EXTRACT(DAY FROM cycle_anchor) = 1", name="cycle_anchor_month"),
    sa.CheckConstraint("grace_days BETWEEN 0 AND 60", name="grace_days_range"),
    sa.CheckConstraint("state = 'pending' OR (currency IS NOT NULL AND country IS NOT NULL)", name="billable"),
    sa.CheckConstraint("NOT bill_to_parent OR parent_id IS NOT NULL", name="parent_pays_needs_parent"),
    sa.CheckConstraint("parent_id <> id", name="not_own_parent"),
    sa.CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms_range"),
)

# TMF666 resources openbss keeps for other systems but does not act on yet (party, settlement and financial
# accounts, bill formats, billing cycle specifications, bill presentation media): stored as the client sent them.
account_document = sa.Table(
    "account_document",
    metadata,
    id_column(),
    created_at(),
    _updated_at(),
    sa.Column("kind", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("body", JSONB, nullable=False),
)
