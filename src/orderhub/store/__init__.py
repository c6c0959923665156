"""Storage adapter: SQLAlchemy 2 Core tables, repositories, unit of work, history, migrations."""
