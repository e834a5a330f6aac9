"""dispute_case (created_by): the header's "news of the disputes I registered" found from my cases

Every page's header counts the user's unread notices, and one part of them is the news of the disputes the
user registered (``cases.notices``, registrant notices). Without this index the query walks every event of
the last 30 days of the notice triggers in the area and drops those of other people's cases: 690 ms on the
100,000-case benchmark database for a supervisor who registered none (32 ms with it; measured 2026-12-02).

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dispute_case_created_by", "dispute_case", ["created_by"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_dispute_case_created_by", table_name="dispute_case", if_exists=True)
