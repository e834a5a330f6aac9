"""case_event (case_id, effective_at): a case's events in a period read by one index range

The annual report (mediation_flow.stats) reads the events effective in the year of the cases in a
jurisdiction subtree. Starting from the subtree's cases, this index finds each case's events of the
period directly, instead of walking the case's whole history by (case_id, seq) and filtering (SQLite),
or scanning every event of the period in the database and hashing them against the cases (PostgreSQL).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_event_case_effective", "case_event", ["case_id", "effective_at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_case_event_case_effective", table_name="case_event", if_exists=True)
