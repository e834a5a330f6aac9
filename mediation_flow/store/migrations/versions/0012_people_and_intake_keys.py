"""intake_key, party_key, party_link, notice_handled: offline intake once per key, the same people again,
search by person, notices handled one by one (issue 16)

- intake_key: an Idempotency-Key accepted once per user, with the case it made and its request's digest.
- party_key: each party's normalised keys (ID number, phone digits, name with its village), indexed by
  (kind, value, registered_at) so matching and search read an index range instead of scanning parties.
- party_link: a supervisor's confirm / dismiss decisions on suggested links (rows only added).
- notice_handled: notices marked handled one by one.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_key",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["dispute_case.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_table(
        "party_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("jurisdiction_path", sa.String(length=255), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["dispute_case.id"]),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"]),
        sa.ForeignKeyConstraint(["village_id"], ["jurisdiction.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_party_key_lookup", "party_key", ["kind", "value", "registered_at"])
    op.create_index("ix_party_key_case", "party_key", ["case_id"])
    op.create_table(
        "party_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("other_case_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["dispute_case.id"]),
        sa.ForeignKeyConstraint(["other_case_id"], ["dispute_case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_party_link_pair", "party_link", ["case_id", "other_case_id"])
    op.create_table(
        "notice_handled",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["dispute_case.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("user_id", "case_id", "kind", "at"),
    )


def downgrade() -> None:
    op.drop_table("notice_handled")
    op.drop_index("ix_party_link_pair", table_name="party_link")
    op.drop_table("party_link")
    op.drop_index("ix_party_key_case", table_name="party_key")
    op.drop_index("ix_party_key_lookup", table_name="party_key")
    op.drop_table("party_key")
    op.drop_table("intake_key")
