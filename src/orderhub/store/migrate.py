"""Schema migrations, run by ``orderhub db upgrade``, the demo and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def missing_schema(url: str) -> str | None:
    """Why the database at ``url`` cannot be read, in one line (None: it can). Creates nothing:
    a SQLite file is looked for before anything connects, since connecting would create it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL: {url!r}"
    where = parsed.render_as_string(hide_password=True)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).is_file():
        return f"no database at {where}"
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return f"{where} has no OrderHub schema"
    except SQLAlchemyError as error:
        return f"cannot open {where}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
