"""PostgreSQL: a text_pattern_ops index so `jurisdiction_path LIKE '/1/4/%'` uses an index under any collation

On PostgreSQL subtree conditions stay LIKE (a range comparison is wrong under a non-C collation, see
mediation_flow/places/subtree.py), and a plain b-tree serves LIKE only under the C collation. SQLite uses the
range condition and its existing index, so nothing changes there.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_case_path_pattern ON dispute_case (jurisdiction_path text_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_path_pattern")
