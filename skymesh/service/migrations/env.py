"""Alembic environment: migrations run on the connection
:func:`skymesh.service.db.upgrade` passes."""

from alembic import context

from skymesh.service.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
