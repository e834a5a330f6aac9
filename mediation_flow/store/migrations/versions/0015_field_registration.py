"""Registration made for the field: where and when the dispute happened, the risk ticks kept as facts, and the
party details the official forms need (性别, 民族, 出生日期 or 年龄; 住址 existed)

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("dispute_case", sa.Column("incident_place", sa.String(length=200), nullable=True))
    op.add_column("dispute_case", sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dispute_case", sa.Column("risk_hints", _JSON, nullable=True))
    op.add_column("party", sa.Column("gender", sa.String(length=8), nullable=True))
    op.add_column("party", sa.Column("ethnicity", sa.String(length=16), nullable=True))
    op.add_column("party", sa.Column("birth_date", sa.Date(), nullable=True))
    op.add_column("party", sa.Column("age", sa.Integer(), nullable=True))


def downgrade() -> None:
    for column in ("age", "birth_date", "ethnicity", "gender"):
        op.drop_column("party", column)
    for column in ("risk_hints", "occurred_at", "incident_place"):
        op.drop_column("dispute_case", column)
