"""The header's unread count reads the latest due dates first: ``ix_case_count_due`` on ``case_count``
(issue 15)

Every page's header counts the user's unread notices, the deadline ones among them from the kept counts
(``store.counters.latest_due``: the ``limit`` latest-due open cases of a place, per due date). The key (state,
place, level, due date) does not lead with the due date, so each page summed and sorted every row of the database
(3,147 at 100,000 cases on SQLite: 1.7 ms per page at load 6; PostgreSQL: 75,126 rows on the 1,000,000-case county)
to keep the latest few dates. Led by the due date, the read starts at the latest date and stops at the limit
(0.14 ms). ``n`` is left out: the triggers change a count on every write to a case, and SQLite and PostgreSQL
leave an index alone when none of its columns change.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_count_due", "case_count", ["due_date", "jurisdiction_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_case_count_due", table_name="case_count")
