"""What clients ask of issued bills through TMF678, kept beside the immutable invoice rows (migration 0025).

`bill_hold`: a collections hold on an issued invoice (TMF678 PATCH customerBill state "onHold"). The invoice row
is never touched: while a hold is open (released_at NULL) the API reports the bill "onHold" and collections
leave its whole open amount alone (billing.holds). At most one open hold per invoice (the partial unique index),
so a repeated PATCH onHold cannot stack holds. Rows are kept after release: who held and released, and when.

`bill_on_demand`: TMF678 customerBillOnDemand requests, as received (`billing_account_ref` is the id sent,
`account_id` the account it named, NULL when it named none), with their state, the customerBill produced and
the `outcome` (why a request was rejected, waits or billed nothing).
"""

import sqlalchemy as sa

from openbss.db.metadata import created_at, id_column, metadata, uuid_ref

ON_DEMAND_STATES = ("inProgress", "rejected", "done", "terminatedWithError")  # TMF678 v4 StateValues

bill_hold = sa.Table(
    "bill_hold",
    metadata,
    id_column(),
    uuid_ref("invoice_id", "invoice.id", index=True),
    uuid_ref("account_id", index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True)),
    sa.Column("released_by", sa.Text),
    sa.CheckConstraint("(released_at IS NULL) = (released_by IS NULL)", name="released_by_whom"),
    sa.Index("uq_bill_hold_open", "invoice_id", unique=True, postgresql_where=sa.text("released_at IS NULL")),
)

bill_on_demand = sa.Table(
    "bill_on_demand",
    metadata,
    id_column(),
    created_at(),
    sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
    sa.Column("billing_account_ref", sa.Text, nullable=False),
    uuid_ref("account_id", nullable=True, index=True),
    sa.Column("name", sa.Text),
    sa.Column("description", sa.Text),  # as the client sent it
    sa.Column("outcome", sa.Text),  # why it was rejected, is waiting, or billed nothing
    sa.Column("state", sa.Text, nullable=False),
    uuid_ref("invoice_id", "invoice.id", nullable=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.CheckConstraint(f"state IN {ON_DEMAND_STATES!r}", name="state"),
)
