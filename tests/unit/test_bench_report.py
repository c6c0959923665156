"""The bench table: with only the reads measured (``--no-ingest``) there is no floor."""

from __future__ import annotations

from orderhub.bench.report import Report, Row


def test_a_table_of_reads_alone_has_no_floor_and_no_ratio() -> None:
    report = Report(rows=[Row("`GET /v1/orders/{id}`", p50_ms=4.0, p99_ms=9.5, note="p95 7.0 ms")])
    lines = report.markdown().splitlines()
    assert not any("raw-driver floor" in line for line in lines)
    assert "| `GET /v1/orders/{id}` |  |  | 4.0 | 9.5 |  | p95 7.0 ms |" in lines


def test_a_table_with_a_floor_gives_each_throughput_as_a_ratio() -> None:
    report = Report(floors=[1000.0, 1000.0], rows=[Row("ingest", per_second=100.0)])
    table = report.markdown()
    assert "raw-driver floor" in table
    assert "| ingest | 100 | 0.100 |" in table
