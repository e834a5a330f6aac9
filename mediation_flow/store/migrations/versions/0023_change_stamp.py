"""A stamp per topic of slowly changing data (``change_stamp``, store.unchanged): triggers on the topic's tables give
it a new random value at every insert, update or delete, so answers worked out from those tables alone (the reference
book, the labels) stay kept while cases are written, and are worked out again after any change of theirs (issue 15).

Random, not a counter: a transaction that changed the tables and rolled back leaves a stamp nobody else ever sees,
so what it worked out under its own stamp can never be mistaken for the data of a later commit. (A later migration
that rebuilds one of these tables in SQLite batch mode must create its triggers again.)

On PostgreSQL a transaction that changes one of the tables holds the stamp's row until it ends, so changes of
reference data are serialised (an administrator's edits: rare). Two such transactions that also wait for each other's
rows (the same new code, say) deadlock; PostgreSQL aborts one, as it would have failed on the code anyway.

Revision ID: 0023
Revises: 0022
"""

from alembic import op
import sqlalchemy as sa

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# topic -> the tables whose rows its answers are worked out from (store.unchanged.TOPICS says the same)
TOPICS = {"reference": ("reference_item", "agency", "jurisdiction")}
OPERATIONS = ("INSERT", "UPDATE", "DELETE")
SQLITE_NEW = "lower(hex(randomblob(16)))"
POSTGRES_NEW = "md5(gen_random_uuid()::text)"

POSTGRES_FUNCTION = f"""CREATE OR REPLACE FUNCTION change_stamp_renew() RETURNS trigger AS $$
    BEGIN
        UPDATE change_stamp SET stamp = {POSTGRES_NEW} WHERE topic = TG_ARGV[0];
        RETURN NULL;
    END; $$ LANGUAGE plpgsql"""


def _trigger(table: str, operation: str) -> str:
    return f"change_stamp_{table}_{operation.lower()}"


def upgrade() -> None:
    op.create_table(
        "change_stamp",
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("topic"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    new = SQLITE_NEW if sqlite else POSTGRES_NEW
    if not sqlite:
        op.execute(POSTGRES_FUNCTION)
    for topic, tables in TOPICS.items():
        op.execute(f"INSERT INTO change_stamp (topic, stamp) VALUES ('{topic}', {new})")
        for table in tables:
            if sqlite:
                for operation in OPERATIONS:
                    op.execute(
                        f"CREATE TRIGGER {_trigger(table, operation)} AFTER {operation} ON {table} BEGIN "
                        f"UPDATE change_stamp SET stamp = {new} WHERE topic = '{topic}'; END"
                    )
            else:
                op.execute(
                    f"CREATE TRIGGER {_trigger(table, 'any')} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION change_stamp_renew('{topic}')"
                )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for tables in TOPICS.values():
        for table in tables:
            if sqlite:
                for operation in OPERATIONS:
                    op.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, operation)}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, 'any')} ON {table}")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS change_stamp_renew()")
    op.drop_table("change_stamp")
