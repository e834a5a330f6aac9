"""PostgreSQL: the supervisor queues read one township's entries, and a queue's kept total reads its places' rows
(issue 15)

``ix_case_queue`` leads with ``due_date``: on a county database a township's overdue queue read every township's
overdue entries (43,727 on the 1,000,000-case county) to keep its own (1,507), through a BitmapAnd with the path
index and a heap visit per overdue case of the township, on every page. ``ix_case_queue_township`` leads with the
township's id as it stands in the case's path ('/county/township/village/…/': the third field), then the due date
and the id (the queue's order), with the filters' columns included: a township's (or a village's) queue page is
an index-only range read in queue order, stopped at the page's end. The queue adds the condition
``split_part(jurisdiction_path, '/', 3) = '<township id>'`` beside its subtree's LIKE (store.sqlbits.in_township).

``ix_case_count_place_due``: the queue's total from the kept counts (``case_count``) filtered on the places of the
subtree and a due-date range, which the key (state, place, level, due date) does not lead with: a sequential scan
of every row of the county (75,126) for one township's (~900).

SQLite keeps its plan (one township per database as deployed: its queue's due-date order is the township's).

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_case_queue_township ON dispute_case"
            " ((split_part(jurisdiction_path, '/', 3)), due_date, id)"
            " INCLUDE (risk_grade, jurisdiction_path, level, source, mediator_id)"
        )
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_case_count_place_due ON case_count (jurisdiction_id, due_date)"
            " INCLUDE (level, n)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_count_place_due")
        op.execute("DROP INDEX IF EXISTS ix_case_queue_township")
