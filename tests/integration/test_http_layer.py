"""What the HTTP layer does, or does not do, on every request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from opentelemetry import metrics, trace

from tests.conftest import native_order


def test_fastapis_opentelemetry_bridge_is_not_asked_on_each_request(
    client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI asks OpenTelemetry for its providers on every request unless its telemetry is
    off (~4 µs each); the hub ships no SDK and times its requests itself (``/metrics``)."""
    asked: list[str] = []
    real_tracer, real_meter = trace.get_tracer_provider, metrics.get_meter_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: asked.append("t") or real_tracer())
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: asked.append("m") or real_meter())
    assert client.get("/v1/health").status_code == 200
    assert client.post("/v1/orders", json=native_order("T-1"), headers=admin).status_code == 201
    assert asked == []
