"""config_stamps: a stamp per table of configuration, moved by triggers on every change (the
processes' configuration cache, store/config_cache.py, checks it)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# The tables whose rows the processes cache; each names its own stamp.
CONFIG_TABLES = ("channels", "locations", "products", "routing_rule_versions")
EVENTS = ("INSERT", "UPDATE", "DELETE")

# A new random stamp, not a counter: a stamp a rolled-back transaction set (and may have read
# its own rows at) must never come back for other rows, as a counter's next value would.
NEW_STAMP = {
    "sqlite": "random()",
    "postgresql": "CAST(random() * 9.0e18 AS BIGINT)",
}

# PostgreSQL: one function for every table, once per statement (a bulk import moves it once).
_PG_FUNCTION = f"""
    CREATE FUNCTION config_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE config_stamps SET stamp = {NEW_STAMP["postgresql"]} WHERE name = TG_TABLE_NAME;
        RETURN NULL;
    END
    $$
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    stamps = op.create_table(
        "config_stamps",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(stamps, [{"name": name, "stamp": 0} for name in CONFIG_TABLES])
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in CONFIG_TABLES:
            op.execute(
                f"CREATE TRIGGER config_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION config_stamp_bump()"
            )
        return
    for table in CONFIG_TABLES:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER config_stamp_{table}_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN UPDATE config_stamps SET stamp = {NEW_STAMP['sqlite']} "
                f"WHERE name = '{table}'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CONFIG_TABLES:
            op.execute(f"DROP TRIGGER config_stamp ON {table}")
        op.execute("DROP FUNCTION config_stamp_bump()")
    else:
        for table in CONFIG_TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER config_stamp_{table}_{event.lower()}")
    op.drop_table("config_stamps")
