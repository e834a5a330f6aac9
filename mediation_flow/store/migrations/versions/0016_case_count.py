"""Maintained counts of cases per (state, place, level, due date), kept by triggers on dispute_case (a later
migration that rebuilds dispute_case in SQLite batch mode must create these triggers again)

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NO_DUE = "9999-12-31"  # a case without a running deadline (the key's columns are all NOT NULL)
KEY = "state, jurisdiction_id, level, due_date"

# SQLite: one writer at a time, so a read-modify-write per key is safe; a missing key is added at 0 first.
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER case_count_insert AFTER INSERT ON dispute_case BEGIN
        INSERT OR IGNORE INTO case_count ({KEY}, n)
            VALUES (NEW.state, NEW.jurisdiction_id, NEW.level, COALESCE(NEW.due_date, '{NO_DUE}'), 0);
        UPDATE case_count SET n = n + 1 WHERE state = NEW.state AND jurisdiction_id = NEW.jurisdiction_id
            AND level = NEW.level AND due_date = COALESCE(NEW.due_date, '{NO_DUE}');
    END""",
    f"""CREATE TRIGGER case_count_update AFTER UPDATE OF state, jurisdiction_id, level, due_date ON dispute_case
    WHEN OLD.state IS NOT NEW.state OR OLD.jurisdiction_id IS NOT NEW.jurisdiction_id OR OLD.level IS NOT NEW.level
        OR OLD.due_date IS NOT NEW.due_date
    BEGIN
        UPDATE case_count SET n = n - 1 WHERE state = OLD.state AND jurisdiction_id = OLD.jurisdiction_id
            AND level = OLD.level AND due_date = COALESCE(OLD.due_date, '{NO_DUE}');
        INSERT OR IGNORE INTO case_count ({KEY}, n)
            VALUES (NEW.state, NEW.jurisdiction_id, NEW.level, COALESCE(NEW.due_date, '{NO_DUE}'), 0);
        UPDATE case_count SET n = n + 1 WHERE state = NEW.state AND jurisdiction_id = NEW.jurisdiction_id
            AND level = NEW.level AND due_date = COALESCE(NEW.due_date, '{NO_DUE}');
    END""",
    f"""CREATE TRIGGER case_count_delete AFTER DELETE ON dispute_case BEGIN
        UPDATE case_count SET n = n - 1 WHERE state = OLD.state AND jurisdiction_id = OLD.jurisdiction_id
            AND level = OLD.level AND due_date = COALESCE(OLD.due_date, '{NO_DUE}');
    END""",
]
# PostgreSQL: concurrent writers. The two keys a transition touches are locked in key order (the lower first),
# so two transitions moving cases in opposite directions between the same keys cannot deadlock.
POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION case_count_bump(s text, j integer, l text, d date, delta integer)
        RETURNS void AS $$
        BEGIN
            INSERT INTO case_count ({KEY}, n) VALUES (s, j, l, COALESCE(d, DATE '{NO_DUE}'), delta)
            ON CONFLICT ({KEY}) DO UPDATE SET n = case_count.n + delta;
        END; $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION case_count_keep() RETURNS trigger AS $$
        DECLARE
            old_key record;
            new_key record;
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM case_count_bump(NEW.state, NEW.jurisdiction_id, NEW.level, NEW.due_date, 1);
                RETURN NULL;
            END IF;
            IF TG_OP = 'DELETE' THEN
                PERFORM case_count_bump(OLD.state, OLD.jurisdiction_id, OLD.level, OLD.due_date, -1);
                RETURN NULL;
            END IF;
            SELECT OLD.state AS s, OLD.jurisdiction_id AS j, OLD.level AS l,
                   COALESCE(OLD.due_date, DATE '{NO_DUE}') AS d INTO old_key;
            SELECT NEW.state AS s, NEW.jurisdiction_id AS j, NEW.level AS l,
                   COALESCE(NEW.due_date, DATE '{NO_DUE}') AS d INTO new_key;
            IF (old_key.s, old_key.j, old_key.l, old_key.d) = (new_key.s, new_key.j, new_key.l, new_key.d) THEN
                RETURN NULL;
            END IF;
            IF (old_key.s, old_key.j, old_key.l, old_key.d) < (new_key.s, new_key.j, new_key.l, new_key.d) THEN
                PERFORM case_count_bump(old_key.s, old_key.j, old_key.l, old_key.d, -1);
                PERFORM case_count_bump(new_key.s, new_key.j, new_key.l, new_key.d, 1);
            ELSE
                PERFORM case_count_bump(new_key.s, new_key.j, new_key.l, new_key.d, 1);
                PERFORM case_count_bump(old_key.s, old_key.j, old_key.l, old_key.d, -1);
            END IF;
            RETURN NULL;
        END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER case_count_keep AFTER INSERT OR DELETE OR UPDATE OF state, jurisdiction_id, level, due_date
        ON dispute_case FOR EACH ROW EXECUTE FUNCTION case_count_keep()""",
]


def upgrade() -> None:
    op.create_table(
        "case_count",
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("state", "jurisdiction_id", "level", "due_date"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    no_due = f"'{NO_DUE}'" if sqlite else f"DATE '{NO_DUE}'"
    op.execute(
        f"INSERT INTO case_count ({KEY}, n) SELECT state, jurisdiction_id, level, COALESCE(due_date, {no_due}),"
        " count(*) FROM dispute_case GROUP BY state, jurisdiction_id, level, COALESCE(due_date, " + no_due + ")"
    )
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("case_count_insert", "case_count_update", "case_count_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_count_keep ON dispute_case")
        op.execute("DROP FUNCTION IF EXISTS case_count_keep()")
        op.execute("DROP FUNCTION IF EXISTS case_count_bump(text, integer, text, date, integer)")
    op.drop_table("case_count")
