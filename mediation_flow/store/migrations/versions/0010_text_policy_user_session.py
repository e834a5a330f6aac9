"""Stored text under the text-input policy; user_session for server-side sign-out

Text typed before the policy existed may hold control characters (a U+000B from a paste made the annual
.xlsx fail to download). Every stored text a person typed is rewritten the way the policy now treats new
input: pasted line breaks (CR, U+000B, U+000C, U+0085, U+2028/2029) become newlines — spaces in one-line
fields — and the other control characters, unpaired surrogates, non-characters and bidirectional
overrides are dropped. The append-only event table is left as it is (its triggers forbid an update): what
it holds reaches files only through the export writer, which applies the same cleaning.

``user_session``: one row per signed-in browser session (the SHA-256 of the random id its cookie carries);
signing out deletes it, so the cookie stops working on the server, not only in the browser.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

# The policy as it stood when this revision was written (a copy: revisions import nothing from the code).
_BREAKS = {ord(c): "\n" for c in "\r\x0b\x0c\x85\u2028\u2029"}
_DROP = dict.fromkeys(
    [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0x85), *range(0x86, 0xA0), *range(0xD800, 0xE000)]
    + [0xFFFE, 0xFFFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
# table -> (key column, {column: multi-line?})
_TEXT = {
    "dispute_case": ("id", {"title": False, "summary": True, "venue": False}),
    "party": ("id", {"name": False, "id_number": False, "phone": False, "address": False}),
    "app_user": ("id", {"display_name": False}),
    "jurisdiction": ("id", {"name": False, "short_name": False}),
}
_BATCH = 2000


def _clean(value, multiline):
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").translate(_BREAKS)
    if not multiline:
        value = value.replace("\n", " ").replace("\t", " ")
    return value.translate(_DROP)


def _clean_table(conn, table, key, columns):
    t = sa.table(table, sa.column(key), *(sa.column(c) for c in columns))
    last = None
    while True:
        query = sa.select(t).order_by(t.c[key]).limit(_BATCH)
        if last is not None:
            query = query.where(t.c[key] > last)
        rows = conn.execute(query).mappings().all()
        if not rows:
            return
        for row in rows:
            changed = {c: _clean(row[c], multi) for c, multi in columns.items() if _clean(row[c], multi) != row[c]}
            if changed:
                conn.execute(sa.update(t).where(t.c[key] == row[key]).values(**changed))
        last = rows[-1][key]


def upgrade() -> None:
    conn = op.get_bind()
    for table, (key, columns) in _TEXT.items():
        _clean_table(conn, table, key, columns)
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
