"""A township sets itself up: retired jurisdictions, temporary passwords, the administrators' change log,
who recorded an event for whom

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jurisdiction", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")))
    op.add_column(
        "app_user", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )
    op.create_table(
        "admin_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_admin_log_at", "admin_log", ["at"])
    # who typed an event in, when not the person who acted (adding a column is allowed by the append-only
    # triggers, which refuse only UPDATE and DELETE of rows). No batch mode: recreating the table on SQLite would
    # drop those triggers; SQLite takes the reference inline in ADD COLUMN.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE case_event ADD COLUMN recorded_by INTEGER REFERENCES app_user (id)")
    else:
        op.add_column("case_event", sa.Column("recorded_by", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_case_event_recorded_by", "case_event", "app_user", ["recorded_by"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_case_event_recorded_by", "case_event", type_="foreignkey")
    op.drop_column("case_event", "recorded_by")
    op.drop_index("ix_admin_log_at", table_name="admin_log")
    op.drop_table("admin_log")
    op.drop_column("app_user", "must_change_password")
    op.drop_column("jurisdiction", "active")
