import sqlalchemy as sa

from openbss.db.metadata import created_at, id_column, metadata, uuid_ref

customer = sa.Table(
    "customer",
    metadata,
    id_column(),
    created_at(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
)

billing_account = sa.Table(
    "billing_account",
    metadata,
    id_column(),
    created_at(),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    uuid_ref("customer_id", "customer.id", index=True),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("country", sa.CHAR(2), nullable=False),
    sa.Column("bill_cycle_day", sa.SmallInteger, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.CheckConstraint("bill_cycle_day BETWEEN 1 AND 28", name="bill_cycle_day_range"),
)
