"""Charging tables: balance buckets (of an account or a shared group), reservations and their holds."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from openbss.db.metadata import QUANTITY, created_at, id_column, metadata

# Accounts sharing buckets (a family's or a company's pool of minutes or money).
balance_group = sa.Table(
    "balance_group",
    metadata,
    id_column(),
    sa.Column("name", sa.Text, nullable=False),
    created_at(),
)

balance_group_member = sa.Table(
    "balance_group_member",
    metadata,
    sa.Column("group_id", UUID(as_uuid=True), sa.ForeignKey("balance_group.id"), primary_key=True),
    sa.Column("account_id", UUID(as_uuid=True), primary_key=True, index=True),
)

# One bucket of money or units. The CHECK "within_amount" is what keeps concurrent sessions from spending more
# than the bucket holds, whatever the code above it does.
balance_bucket = sa.Table(
    "balance_bucket",
    metadata,
    id_column(),
    sa.Column("account_id", UUID(as_uuid=True), nullable=True, index=True),
    sa.Column("group_id", UUID(as_uuid=True), sa.ForeignKey("balance_group.id"), nullable=True, index=True),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=True),
    sa.Column("amount", QUANTITY, nullable=False),
    sa.Column("reserved", QUANTITY, nullable=False, server_default="0"),
    sa.Column("used", QUANTITY, nullable=False, server_default="0"),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rollover", sa.Boolean, nullable=False, server_default="false"),
    created_at(),
    sa.CheckConstraint("(account_id IS NULL) <> (group_id IS NULL)", name="one_owner"),
    sa.CheckConstraint("unit IN ('money', 'second', 'byte', 'message')", name="unit_known"),
    sa.CheckConstraint("(unit = 'money') = (currency IS NOT NULL)", name="currency_for_money"),
    sa.CheckConstraint("amount >= 0 AND reserved >= 0 AND used >= 0", name="not_negative"),
    sa.CheckConstraint("used + reserved <= amount", name="within_amount"),
    sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity_ordered"),
)

# A credit-control session's grant for one rating group: what the network may use until expires_at.
charging_reservation = sa.Table(
    "charging_reservation",
    metadata,
    id_column(),
    sa.Column("session_id", sa.Text, nullable=False),
    sa.Column("rating_group", sa.BigInteger, nullable=False),
    sa.Column("account_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("product_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_id", sa.Text, nullable=False),
    sa.Column("usage_type", sa.Text, nullable=False),
    sa.Column("destination", sa.Text, nullable=True),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),  # the tariff moment of the open grant
    sa.Column("granted", QUANTITY, nullable=False),  # units granted by the open holds
    sa.Column("used", QUANTITY, nullable=False, server_default="0"),  # units committed over the session
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    created_at(),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("session_id", "rating_group"),
    sa.CheckConstraint("status IN ('active', 'closed', 'expired')", name="status_known"),
)
sa.Index("ix_charging_reservation_expiry", charging_reservation.c.expires_at,
         postgresql_where=charging_reservation.c.status == "active")

# What a reservation holds in each bucket (money or units); deleted when committed or released.
charging_hold = sa.Table(
    "charging_hold",
    metadata,
    sa.Column("reservation_id", UUID(as_uuid=True), sa.ForeignKey("charging_reservation.id"), primary_key=True),
    sa.Column("bucket_id", UUID(as_uuid=True), sa.ForeignKey("balance_bucket.id"), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),  # spending order within the reservation
    sa.Column("held", QUANTITY, nullable=False),
    sa.CheckConstraint("held > 0", name="positive"),
)

# Every credit-control request answered (RFC 4006 8.: a session's CC-Request-Number is unique), with the answer's
# bytes: a retransmission (T flag) or a repeat after a crash gets the same answer, never a second debit. Written in
# the transaction of the request's effect, so the answer leaves only once both are durable.
charging_request = sa.Table(
    "charging_request",
    metadata,
    sa.Column("session_id", sa.Text, primary_key=True),
    sa.Column("request_number", sa.BigInteger, primary_key=True),
    sa.Column("request_type", sa.SmallInteger, nullable=False),
    sa.Column("result_code", sa.Integer, nullable=False),
    sa.Column("answer", sa.LargeBinary, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("request_type BETWEEN 1 AND 4", name="request_type_known"),
)
sa.Index("ix_charging_request_answered_at", charging_request.c.answered_at, postgresql_using="brin")

# ---- balances API (TMF654 topupBalance, adjustBalance), vouchers, thresholds, postpaid holds -------------------

# A batch of vouchers generated together: one value, one redemption deadline, one salt for the PIN hashes.
voucher_batch = sa.Table(
    "voucher_batch",
    metadata,
    id_column(),
    sa.Column("salt", sa.Text, nullable=False),  # hex; PINs are stored as sha256(salt || PIN), never in clear
    sa.Column("amount", QUANTITY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),  # redeemable through this day (UTC)
    sa.Column("description", sa.Text, nullable=True),
    created_at(),
    sa.CheckConstraint("amount > 0", name="positive"),
    sa.CheckConstraint("count > 0", name="count_positive"),
)
sa.Index("ix_voucher_batch_valid_until", voucher_batch.c.valid_until)

# One voucher. The unique hash is the look-up of a PIN; status moves once, available -> redeemed, under a row lock,
# and balance_topup.voucher_id is unique too: a voucher redeemed twice at the same moment credits once.
voucher = sa.Table(
    "voucher",
    metadata,
    id_column(),
    sa.Column("batch_id", UUID(as_uuid=True), sa.ForeignKey("voucher_batch.id"), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),  # printed on the card beside the hidden PIN
    sa.Column("pin_hash", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False, server_default="available"),
    sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("batch_id", "serial"),
    sa.CheckConstraint("status IN ('available', 'redeemed', 'void')", name="status_known"),
    sa.CheckConstraint("(status = 'redeemed') = (redeemed_at IS NOT NULL)", name="redeemed_when"),
)

# TMF654 topupBalance: money or units credited to a bucket (an existing one, or one the top-up created).
balance_topup = sa.Table(
    "balance_topup",
    metadata,
    id_column(),
    sa.Column("account_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("bucket_id", UUID(as_uuid=True), sa.ForeignKey("balance_bucket.id"), nullable=False, index=True),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=True),
    sa.Column("amount", QUANTITY, nullable=False),
    sa.Column("voucher_id", UUID(as_uuid=True), sa.ForeignKey("voucher.id"), nullable=True, unique=True),
    sa.Column("payment_method_id", sa.Text, nullable=True),
    sa.Column("channel", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("new_bucket", sa.Boolean, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    created_at(),
    sa.CheckConstraint("amount > 0", name="positive"),
    sa.CheckConstraint("status IN ('completed')", name="status_known"),
)

# TMF654 adjustBalance: a bucket's amount corrected up or down, with a reason.
balance_adjustment = sa.Table(
    "balance_adjustment",
    metadata,
    id_column(),
    sa.Column("account_id", UUID(as_uuid=True), nullable=True, index=True),  # NULL: a group's bucket
    sa.Column("bucket_id", UUID(as_uuid=True), sa.ForeignKey("balance_bucket.id"), nullable=False, index=True),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=True),
    sa.Column("amount", QUANTITY, nullable=False),  # signed
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("channel", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    created_at(),
    sa.CheckConstraint("amount <> 0", name="not_zero"),
    sa.CheckConstraint("status IN ('completed')", name="status_known"),
)

# The use thresholds (per cent of the amount) a bucket's holder was told of: each is announced once, and re-armed
# when a top-up or adjustment takes the bucket back below it.
balance_bucket_threshold = sa.Table(
    "balance_bucket_threshold",
    metadata,
    sa.Column("bucket_id", UUID(as_uuid=True), sa.ForeignKey("balance_bucket.id"), primary_key=True),
    sa.Column("percent", sa.SmallInteger, primary_key=True),
    sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
)

# Postpaid money a reservation holds against its account's credit limit (hybrid plans): counted while the
# reservation is active, whatever happens to the row afterwards.
charging_postpaid_hold = sa.Table(
    "charging_postpaid_hold",
    metadata,
    sa.Column("reservation_id", UUID(as_uuid=True), sa.ForeignKey("charging_reservation.id"), primary_key=True),
    sa.Column("account_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("held", QUANTITY, nullable=False),
    sa.CheckConstraint("held > 0", name="positive"),
)

# A rollover bucket's unspent rest carried into a new bucket when it expired; once per bucket.
balance_rollover = sa.Table(
    "balance_rollover",
    metadata,
    sa.Column("from_bucket_id", UUID(as_uuid=True), sa.ForeignKey("balance_bucket.id"), primary_key=True),
    sa.Column("to_bucket_id", UUID(as_uuid=True), sa.ForeignKey("balance_bucket.id"), nullable=False, unique=True),
    sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
)
