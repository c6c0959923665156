"""Rough throughput of EDI X12 inbound: parsing + 850 reading, and the HTTP endpoint end to end.

Run from the worktree: ``PYTHONPATH=. .venv/bin/python -W ignore bench/edi_inbound.py``.
Not a timed test: numbers depend on the machine (the SQLite file is fsynced on each commit).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.bootstrap import bootstrap
from orderhub.channels.edi_x12.parser import parse_interchange
from orderhub.channels.edi_x12.reader_850 import read_purchase_orders
from orderhub.config import Settings
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.store.migrate import upgrade

SAMPLE = Path(__file__).parents[1] / "tests/fixtures/channels/edi_x12/vics_850_tilde_newlines.edi"
SKUS = ["AB3542", "RD5322", "XY5266", "VX2332", "RV0524", "DX1875"]


def interchange(pos: int) -> str:
    """The VICS sample's 850 repeated ``pos`` times with distinct PO and control numbers."""
    text = SAMPLE.read_text(encoding="utf-8")
    head, rest = text.split("ST*850*", 1)
    body = "ST*850*" + rest[: rest.index("GE*")]
    sets = [
        body.replace("000000010", f"{i:09d}").replace("08292233294", f"PO{i:06d}")
        for i in range(1, pos + 1)
    ]
    return head + "".join(sets) + f"GE*{pos}*1421~\nIEA*1*000003438~"


def parse(pos: int = 1000, runs: int = 3) -> None:
    text = interchange(pos)
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        reads = read_purchase_orders(parse_interchange(text), channel="bench")
        best = min(best, time.perf_counter() - start)
        assert all(r.draft for r in reads)
    print(
        f"parse+read: {pos} POs ({len(text) / 1e6:.2f} MB) in {best * 1e3:.0f} ms "
        f"({pos / best:.0f} POs/s, best of {runs})"
    )


def endpoint(pos: int = 200) -> None:
    container = bootstrap(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    upgrade(container.engine)
    with container.uow() as uow:
        uow.channels.add(Channel("xyz", "XYZ", ChannelKind.EDI_X12))
        for sku in SKUS:
            uow.catalog.upsert(Product(sku, sku, 100))
        key = uow.api_keys.create(role=Role.CHANNEL, channel="xyz")
        uow.commit()
    client = TestClient(create_app(container))
    start = time.perf_counter()
    response = client.post(
        "/v1/channels/xyz/edi",
        content=interchange(pos),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/edi-x12"},
    )
    took = time.perf_counter() - start
    assert response.status_code == 200, response.text
    created = sum(p["outcome"] == "created" for p in response.json()["purchase_orders"])
    print(
        f"endpoint: {created} orders created from one interchange in {took:.2f} s "
        f"({created / took:.0f} orders/s, SQLite)"
    )
    container.close()


if __name__ == "__main__":
    parse()
    endpoint()
