from alembic import context

from openbss.schema import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    context.run_migrations()
