"""Paths of the EDI and cXML fixtures (real partners' shapes, see tests/fixtures/channels)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "channels"


def edi(name: str) -> str:
    return (FIXTURES / "edi_x12" / name).read_text(encoding="utf-8")


def cxml(name: str) -> bytes:
    return (FIXTURES / "cxml" / name).read_bytes()
