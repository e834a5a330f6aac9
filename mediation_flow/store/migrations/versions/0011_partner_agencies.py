"""三调对接: partner agencies (派出所, 人民法庭, 信访部门), their users, and each case's handoff

- table ``agency`` (code, name, kind, the jurisdiction it serves, the pattern of its reference numbers);
- ``app_user.agency_id``: the agency of a user of the three agency roles;
- ``dispute_case.agency_id`` and ``dispute_case.handoff``: the partner agency of the case's current handoff
  and where that handoff stands (sent / acknowledged / answered / returned);
- data: the role ``liaison`` becomes ``police_liaison`` (the only liaison the system had was the police
  station's). Such users keep no agency until an administrator attaches one (``mediation-flow users
  set-agency``); until then they see no case.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _add_reference(table: str, column: str) -> None:
    """A nullable integer column referring to agency.id: SQLite takes the REFERENCES clause in ADD COLUMN
    (it cannot add a constraint afterwards, and rebuilding the case table is not worth it)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES agency (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(f"{table}_{column}_fkey", table, "agency", [column], ["id"])


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("reference_pattern", sa.String(length=255), nullable=False),
        sa.Column("reference_example", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["jurisdiction_id"], ["jurisdiction.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_agency_jurisdiction_id", "agency", ["jurisdiction_id"], unique=False)
    _add_reference("app_user", "agency_id")
    _add_reference("dispute_case", "agency_id")
    op.add_column("dispute_case", sa.Column("handoff", sa.String(length=16), nullable=True))
    op.create_index("ix_dispute_case_agency_id", "dispute_case", ["agency_id"], unique=False)
    op.execute("UPDATE app_user SET role = 'police_liaison' WHERE role = 'liaison'")


def downgrade() -> None:
    op.execute("UPDATE app_user SET role = 'liaison' WHERE role IN ('police_liaison', 'court_liaison', 'petition_liaison')")
    op.drop_index("ix_dispute_case_agency_id", table_name="dispute_case")
    with op.batch_alter_table("dispute_case") as batch:
        batch.drop_column("handoff")
        batch.drop_column("agency_id")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("agency_id")
    op.drop_index("ix_agency_jurisdiction_id", table_name="agency")
    op.drop_table("agency")
