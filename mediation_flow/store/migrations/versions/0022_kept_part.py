"""Answers about the parts of a whole kept in the database (``kept_part``, store.kept_parts): a report's tally of a
place's year, with the mark of the place's data it was counted under (``year_sums.CHANGED``) and the rules it was
counted by, so that every app process and every restart finds what one of them counted (issue 15).

Revision ID: 0022
Revises: 0021
"""

from alembic import op
import sqlalchemy as sa

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_part",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("rules", sa.String(length=64), nullable=False),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )


def downgrade() -> None:
    op.drop_table("kept_part")
