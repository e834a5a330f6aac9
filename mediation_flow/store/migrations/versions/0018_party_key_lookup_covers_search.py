"""party_key's lookup index also carries the case (case_id) and its place (jurisdiction_path), so the people
search by a party's name is counted and paged from the index alone (``cases.queries.name_page``) and only
the page's own cases are read from ``dispute_case`` (issue 16).

Measured on 1,000,000 cases before: a common two-character name had about 860 cases in the township, and the
count and the page of 30 read every one of those case rows to check its place and to sort it.

One index rather than a second one for the search: two indexes both starting (kind, value) leave SQLite's
planner to pick by its statistics, which average a name's many rows with an ID number's one (measured: it
took the index without the place and read the table for it); with one index there is no choice to get wrong.
Matching is unchanged: (kind, value, village_id, registered_at) is still the prefix.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OLD = ["kind", "value", "village_id", "registered_at"]
NEW = [*OLD, "case_id", "jurisdiction_path"]


def upgrade() -> None:
    op.drop_index("ix_party_key_lookup", table_name="party_key")
    op.create_index("ix_party_key_lookup", "party_key", NEW)


def downgrade() -> None:
    op.drop_index("ix_party_key_lookup", table_name="party_key")
    op.create_index("ix_party_key_lookup", "party_key", OLD)
