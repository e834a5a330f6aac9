"""The dashboard's year figures kept incrementally: what each case contributes (case_figure), its sums per place
(place_figure), the queue of cases to count again (figure_queue, filled by triggers on case_event and
dispute_case; a later migration that rebuilds either table in SQLite batch mode must create them again) and the
rules they were counted by (figure_state: '' here, so the first refresh counts every case).

Revision ID: 0019
Revises: 0018
"""

from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The case row's facts the year figures read (a place's move rewrites jurisdiction_path without an event).
FACTS = ("jurisdiction_path", "category", "source", "workflow_name", "clocks", "attributes")

# SQLite: one writer at a time, so a case already queued need not be queued twice.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER figure_queue_event AFTER INSERT ON case_event
    WHEN NOT EXISTS (SELECT 1 FROM figure_queue WHERE case_id = NEW.case_id)
    BEGIN
        INSERT INTO figure_queue (case_id) VALUES (NEW.case_id);
    END""",
    f"""CREATE TRIGGER figure_queue_case AFTER UPDATE OF {", ".join(FACTS)} ON dispute_case
    WHEN ({" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FACTS)})
        AND NOT EXISTS (SELECT 1 FROM figure_queue WHERE case_id = NEW.id)
    BEGIN
        INSERT INTO figure_queue (case_id) VALUES (NEW.id);
    END""",
]
# PostgreSQL: concurrent writers, so every write queues its own row (the refresh deletes exactly the rows it
# read); the events once per statement (a bulk insert: one row per case), the case row per row.
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION figure_queue_events() RETURNS trigger AS $$
        BEGIN
            INSERT INTO figure_queue (case_id) SELECT DISTINCT case_id FROM new_events;
            RETURN NULL;
        END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER figure_queue_events AFTER INSERT ON case_event REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION figure_queue_events()""",
    """CREATE OR REPLACE FUNCTION figure_queue_case() RETURNS trigger AS $$
        BEGIN
            INSERT INTO figure_queue (case_id) VALUES (NEW.id);
            RETURN NULL;
        END; $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER figure_queue_case AFTER UPDATE OF {", ".join(FACTS)} ON dispute_case FOR EACH ROW
        WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in FACTS)})
        EXECUTE FUNCTION figure_queue_case()""",
]


def upgrade() -> None:
    op.create_table(
        "figure_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_figure_queue_case", "figure_queue", ["case_id"])
    op.create_table(
        "case_figure",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("figure", sa.String(length=48), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "year", "figure", "key"),
    )
    op.create_table(
        "place_figure",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("figure", sa.String(length=48), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", "path", "figure", "key"),
    )
    op.create_table(
        "figure_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rules", sa.String(length=64), nullable=False),
        sa.Column("recorded_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO figure_state (id, rules) VALUES (1, '')")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("figure_queue_event", "figure_queue_case"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS figure_queue_events ON case_event")
        op.execute("DROP TRIGGER IF EXISTS figure_queue_case ON dispute_case")
        op.execute("DROP FUNCTION IF EXISTS figure_queue_events()")
        op.execute("DROP FUNCTION IF EXISTS figure_queue_case()")
    for table in ("figure_state", "place_figure", "case_figure", "figure_queue"):
        op.drop_table(table)
