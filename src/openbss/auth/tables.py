import sqlalchemy as sa

from openbss.db.metadata import created_at, id_column, metadata

api_key = sa.Table(
    "api_key",
    metadata,
    id_column(),
    created_at(),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False, unique=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)
