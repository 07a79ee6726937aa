import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, UUID

from openbss.db.metadata import created_at, id_column, metadata, uuid_ref

# A TMF688 listener registered at {api base}/hub. One per (api, callback): a second registration of the
# same callback would make every event arrive there twice.
hub_listener = sa.Table(
    "hub_listener",
    metadata,
    id_column(),
    created_at(),
    sa.Column("api", sa.Text, nullable=False),
    sa.Column("callback", sa.Text, nullable=False),
    sa.Column("query", sa.Text),
    # The event types `query` selects, NULL for all: matched in SQL when events fan out.
    sa.Column("event_types", ARRAY(sa.Text)),
    # The HMAC key deliveries are signed with; kept readable because signing needs it (not a password).
    sa.Column("secret", sa.Text, nullable=False),
    sa.UniqueConstraint("api", "callback"),
)

# One row per emitted event, written in the transaction of the change. `payload` is the TMF688 notification
# rendered at commit time; JSON (not JSONB) keeps its key order, so every retry sends the same bytes.
outbox_event = sa.Table(
    "outbox_event",
    metadata,
    id_column(),  # the notification's eventId
    created_at(),
    sa.Column("api", sa.Text, nullable=False),
    sa.Column("resource_type", sa.Text, nullable=False),
    uuid_ref("resource_id", index=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("payload", JSON, nullable=False),
)

# The fan-out: one row per (event, listener) it matched, so an event is queued at most once per listener.
# Removing a listener removes what was still to be sent to it.
event_delivery = sa.Table(
    "event_delivery",
    metadata,
    sa.Column("event_id", UUID(as_uuid=True), sa.ForeignKey("outbox_event.id"), primary_key=True),
    sa.Column("listener_id", UUID(as_uuid=True), sa.ForeignKey("hub_listener.id", ondelete="CASCADE"),
              primary_key=True, index=True),
    created_at(),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)", name="pending_has_next_attempt"),
    # What workers poll: only what is still to be sent.
    sa.Index("ix_event_delivery_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
)
