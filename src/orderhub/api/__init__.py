"""HTTP API adapter (FastAPI): thin routes over services and queries."""
