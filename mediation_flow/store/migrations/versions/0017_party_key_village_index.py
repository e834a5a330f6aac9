"""party_key's lookup index gains village_id after (kind, value): matching by name (which counts only within
the probe's village) reads that village's rows instead of every row of the name in the township (issue 16).

Measured on 1,000,000 cases: a common two-character name had 864 keys in the township and 108 in the village;
the registration match read all 864 to keep 108. ID numbers and phones are still found by (kind, value); they
have a handful of rows each, so the date range is checked on the index entries.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_party_key_lookup", table_name="party_key")
    op.create_index("ix_party_key_lookup", "party_key", ["kind", "value", "village_id", "registered_at"])


def downgrade() -> None:
    op.drop_index("ix_party_key_lookup", table_name="party_key")
    op.create_index("ix_party_key_lookup", "party_key", ["kind", "value", "registered_at"])
