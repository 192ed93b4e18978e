"""Alembic environment for the feedback store; run by ``store.migrate`` with a live connection.

On PostgreSQL a transaction-scoped advisory lock lets several replicas start
at once: one migrates, the others wait and find it done.
"""

from alembic import context
from sqlalchemy import create_engine

from qa.feedback.schema import VERSION_TABLE, metadata

config = context.config
MIGRATION_LOCK = 716_523_016  # any constant; the same in every replica


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=...` from a shell
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).begin() as conn:
        _run(conn)
