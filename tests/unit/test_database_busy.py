"""A request that finds the database locked answers 503 with Retry-After, having written nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from orderhub.api import problems


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "busy.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE notes (body TEXT NOT NULL)")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    yield engine, path
    engine.dispose()


def app_writing_to(engine: Engine) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.post("/notes")
    def add_note() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
            conn.execute(text("SELECT no_such_column FROM notes"))  # a bug, not contention
        return {"status": "written"}

    @app.post("/fast-notes")
    def add_fast_note() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
        return {"status": "written"}

    return TestClient(app, raise_server_exceptions=False)


def test_a_locked_database_is_503_with_retry_after_and_nothing_written(
    database: tuple[Engine, Path],
) -> None:
    engine, path = database
    client = app_writing_to(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy timeout
    try:
        refused = client.post("/fast-notes")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/database_busy")
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    assert client.post("/fast-notes").status_code == 200  # the same request, once free


def test_any_other_database_error_stays_a_server_error(database: tuple[Engine, Path]) -> None:
    engine, path = database
    answer = app_writing_to(engine).post("/notes")
    assert answer.status_code == 500
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM notes").fetchone() == (0,)
