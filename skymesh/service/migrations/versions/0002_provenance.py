"""Account provenance: which account created, or changed the role of, another account.

Rows are filled from the audit chain's existing ``user.create`` and ``user.update``
entries made by accounts (not by the database holder), so accounts made through the API
before this migration keep their controllers.

Revision ID: 0002
Revises: 0001
"""

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_provenance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("by_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_account_provenance_user", "account_provenance", ["user_id"])
    bind = op.get_bind()
    ids = {name: uid for uid, name in bind.execute(sa.text("SELECT id, name FROM users"))}
    entries = bind.execute(
        sa.text(
            "SELECT actor, action, detail, at FROM audit "
            "WHERE action IN ('user.create', 'user.update') ORDER BY seq"
        )
    ).all()
    for actor, action, detail, at in entries:
        if actor == "service" or actor.startswith("local:"):
            continue
        try:
            d = json.loads(detail)
            when = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ")
        except (ValueError, TypeError):
            continue  # an unreadable entry: `skymesh audit verify` reports it
        if action == "user.update":
            role = (d.get("changed") or {}).get("role")
            if not role or role[0] == role[1]:
                continue
        uid, by = ids.get(d.get("user")), ids.get(actor)
        if uid is None or by is None:
            continue
        bind.execute(
            sa.text(
                "INSERT INTO account_provenance (user_id, by_user_id, action, at) "
                "VALUES (:u, :b, :a, :t)"
            ),
            {"u": uid, "b": by, "a": "create" if action == "user.create" else "role", "t": when},
        )


def downgrade() -> None:
    op.drop_index("ix_account_provenance_user", "account_provenance")
    op.drop_table("account_provenance")
