"""Database access: engine (embedded PostgreSQL or external), unit of work, migrations."""
