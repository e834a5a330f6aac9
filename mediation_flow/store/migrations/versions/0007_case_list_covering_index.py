"""case list index covers the list's filters: state + subtree range + registration order, then category,
source, risk grade, level, due date and mediator, so counting a filtered list reads the index alone and
a page reads only its matching rows (before: every case of the state in the subtree, for its category)

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD = ["state", "jurisdiction_path", "registered_at"]
NEW = [*OLD, "category", "source", "risk_grade", "level", "due_date", "mediator_id"]


def upgrade() -> None:
    with op.batch_alter_table("dispute_case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_state_path")
        batch_op.create_index("ix_case_state_path", NEW, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_state_path")
        batch_op.create_index("ix_case_state_path", OLD, unique=False)
