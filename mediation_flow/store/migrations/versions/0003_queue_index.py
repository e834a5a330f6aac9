"""queue index: the overdue / due-soon queues read due_date and their filters from one covering index

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ["due_date", "risk_grade", "jurisdiction_path", "level", "source", "mediator_id"]


def upgrade() -> None:
    with op.batch_alter_table("dispute_case", schema=None) as batch_op:
        batch_op.create_index("ix_case_queue", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_queue")
