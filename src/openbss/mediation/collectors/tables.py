import sqlalchemy as sa

from openbss.db.metadata import metadata

# The counters last stored per RADIUS accounting session, so each Interim-Update or Stop is stored as the
# bytes since the previous record (NAS counters are totals since the session started). Octets are
# NUMERIC: with Gigawords a counter reaches 2^64, past BIGINT.
radius_session = sa.Table(
    "radius_session",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("session_id", sa.Text, primary_key=True),
    sa.Column("service_id", sa.Text, nullable=False),
    sa.Column("session_time", sa.BigInteger, nullable=False),
    sa.Column("input_octets", sa.Numeric(20, 0), nullable=False),
    sa.Column("output_octets", sa.Numeric(20, 0), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Each file a spool directory has processed, by content: a file dropped twice (same bytes, any name) is
# refused, and a file left in processing/ by a crash is known to be committed or not.
spool_file = sa.Table(
    "spool_file",
    metadata,
    sa.Column("sha256", sa.CHAR(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
)
