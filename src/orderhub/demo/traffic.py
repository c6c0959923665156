"""The living demo's traffic: orders keep arriving through the real ingest paths, each channel in
its own format, with stock receipts, a few cancellations and the 3PL's shipments.

- Shopify and WooCommerce: signed webhooks over HTTP to the demo server on 127.0.0.1.
- Own web store and app: ``POST /v1/orders`` with the demo's admin key, over HTTP.
- Adobe Commerce and the distributor CSV feed: their readers and the channel-order service.
- Stock receipts through ``adjust_stock``, cancellations through ``cancel_order``.
- Warehouse staff ship the oldest accepted fulfilment order of the own warehouses
  (``POST /v1/fulfillments/{id}/ship`` with a carrier and tracking number); the simulated 3PL
  ships its own on the worker's fulfilment tick.

Bounded (``max_rounds``) and loopback only, so a forgotten demo neither grows without end nor
talks to anything but itself.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from decimal import Decimal
from ipaddress import ip_address
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.channels import csv_import, magento, shopify, woocommerce
from orderhub.channels.base import hmac_sha256_base64
from orderhub.channels.demo_payloads import magento_order, shopify_order, woocommerce_order
from orderhub.clock import utc_now
from orderhub.domain.errors import OrderHubError
from orderhub.domain.inventory import MovementKind
from orderhub.domain.orders import OrderStatus
from orderhub.http.outbound import outbound_client
from orderhub.services.channel_orders import receive_all
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.services.orders import cancel_order
from orderhub.store import tables as t

log = logging.getLogger(__name__)
CSV_ROW = "{id},{placed_at},USD,{email},{sku},{qty},19.90,0.00,9.00\n"
CSV_HEADER = "order_id,placed_at,currency,email,sku,quantity,unit_price,line_tax,shipping_price\n"


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:  # a name: only localhost is known to stay on this machine
        return False


class TrafficSimulator:
    """One round every ``interval`` seconds: an order per channel kind (in turn), now and then
    a receipt or a cancellation, and the fulfilment tick."""

    def __init__(
        self,
        container: Container,
        *,
        base_url: str,
        api_key: str,
        prices: dict[str, str],
        people: list[str],
        interval: float = 3.0,
        max_rounds: int = 400,
        seed: int = 11,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        host = urlsplit(base_url).hostname or ""
        if not _loopback(host):
            raise ValueError(f"the demo traffic only goes to loopback, not {host!r}")
        self.container = container
        # Its own hub on loopback, the one target the guard is told to let through.
        self.client = outbound_client(
            base_url=base_url, timeout=10, transport=transport, allowed=[host]
        )
        self.api_key = api_key
        self.prices, self.people = prices, people
        self.interval, self.max_rounds = interval, max_rounds
        self.rng = random.Random(seed)
        self.sent: dict[str, int] = {}
        self.number = 1000

    def run(self, stop: threading.Event) -> None:
        self._wait_for_server(stop)
        for round_ in range(self.max_rounds):
            if stop.is_set():
                break
            try:
                self.round(round_)
            except Exception:  # one bad round must not end the demo
                log.exception("demo traffic round %s failed", round_)
            stop.wait(self.interval)
        self.client.close()

    def _wait_for_server(self, stop: threading.Event) -> None:
        for _ in range(300):
            if stop.is_set():
                return
            try:
                if self.client.get("/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            stop.wait(0.1)

    def round(self, round_: int) -> None:
        senders: list[Callable[[], None]] = [
            self.shopify, self.native, self.woocommerce, self.magento, self.native, self.csv,
        ]  # fmt: skip
        senders[round_ % len(senders)]()
        if round_ % 4 == 3:
            self.receipt()
        if round_ % 7 == 6:
            self.cancel_one()
        self.ship_oldest()

    # -- orders in each channel's own format ---------------------------------------------------
    def _pick(self) -> tuple[int, str, Decimal, str]:
        self.number += 1
        sku = self.rng.choice(sorted(self.prices))
        return self.number, sku, Decimal(self.prices[sku]), self.rng.choice(self.people)

    def _count(self, channel: str) -> None:
        self.sent[channel] = self.sent.get(channel, 0) + 1

    def _webhook(self, code: str, body: str, headers: dict[str, str]) -> None:
        raw = body.encode()
        headers = {**headers, "Content-Type": "application/json"}
        response = self.client.post(f"/v1/channels/{code}/webhooks", content=raw, headers=headers)
        if response.status_code >= 400:
            log.warning(
                "demo %s webhook answered %s: %s", code, response.status_code, response.text
            )
        self._count(code)

    def _secret(self, code: str) -> str:
        """The channel's webhook secret, made for this demo database by ``demo.seed``."""
        with self.container.uow(read_only=True) as uow:
            return uow.channels.get(code).webhook_secret or ""

    def shopify(self) -> None:
        n, sku, price, email = self._pick()
        body = shopify_order(n, placed_at=utc_now(), sku=sku, price=price, email=email)
        signature = hmac_sha256_base64(self._secret("shopify"), body.encode())
        self._webhook("shopify", body, {shopify.SIGNATURE_HEADER: signature,
                                            "X-Shopify-Topic": "orders/create"})  # fmt: skip

    def woocommerce(self) -> None:
        n, sku, price, email = self._pick()
        body = woocommerce_order(n, placed_at=utc_now(), sku=sku, price=price, email=email)
        signature = hmac_sha256_base64(self._secret("woo"), body.encode())
        self._webhook("woo", body, {woocommerce.SIGNATURE_HEADER: signature,
                                        woocommerce.TOPIC_HEADER: "order.created"})  # fmt: skip

    def native(self) -> None:
        from orderhub.demo.hub import demo_order  # hub imports this module

        self.number += 1
        order = demo_order(50_000 + self.number, placed_at=utc_now(), rng=self.rng)
        response = self.client.post(
            "/v1/orders",
            content=order.model_dump_json(),
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        if response.status_code >= 400:
            log.warning("demo native order answered %s: %s", response.status_code, response.text)
        self._count(order.channel)

    def magento(self) -> None:
        n, sku, price, email = self._pick()
        body = magento_order(n, placed_at=utc_now(), sku=sku, price=price, email=email)
        receive_all(lambda: self.container.uow(actor="demo"), [magento.read_order("magento", body)])
        self._count("magento")

    def csv(self) -> None:
        n, sku, _price, email = self._pick()
        del sku  # the distributor orders by its own SKU, mapped to TSHIRT-BLK-M
        row = CSV_ROW.format(
            id=f"DIST-{n}",
            placed_at=utc_now().isoformat(),
            email=email,
            sku="DIST-0001",
            qty=self.rng.randint(1, 3),
        )
        text = CSV_HEADER + row
        items = list(csv_import.read_orders("partner", text, file_name=f"demo-{n}.csv"))
        receive_all(lambda: self.container.uow(actor="demo"), items)
        self._count("partner")

    # -- the warehouses ship ------------------------------------------------------------------
    def ship_oldest(self, *, older_than: float = 20.0) -> None:
        """Warehouse staff report the oldest accepted parcel through ``POST /v1/fulfillments/{id}/
        ship``, with a carrier and tracking number: so shipments, tracking and lead times show."""
        now = utc_now()
        with self.container.uow(read_only=True) as uow:  # a pick-up is handed over, not shipped
            waiting = [f for f in uow.fulfilment.search(status="accepted", limit=200)
                       if f.provider == "warehouse"
                       and (now - f.created_at).total_seconds() >= older_than
                       and not uow.pickups.is_pickup(f.id)]  # fmt: skip
        if not waiting:
            return
        oldest = min(waiting, key=lambda f: (f.created_at, f.id))
        body = {
            "lines": [{"line_id": x.line_id, "quantity": x.quantity} for x in oldest.lines],
            "carrier": self.rng.choice(["ups", "dhl", "royal_mail"]),
            "service": "ground",
            "tracking_number": f"1Z{self.rng.randrange(10**12):012d}",
        }
        response = self.client.post(
            f"/v1/fulfillments/{oldest.id}/ship",
            json=body,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        if response.status_code >= 400:
            log.warning("demo shipment answered %s: %s", response.status_code, response.text)
        else:
            self._count("shipments")

    # -- stock and cancellations ----------------------------------------------------------------
    def receipt(self) -> None:
        with self.container.uow(actor="demo-warehouse") as uow:
            locations = [loc.code for loc in uow.locations.list() if loc.active]
            if not locations:
                return
            item = StockAdjustment(
                sku=self.rng.choice(sorted(self.prices)),
                location=self.rng.choice(locations),
                delta=self.rng.randint(5, 20),
                reason="purchase order received",
                reference=f"PO-DEMO-{self.number}",
                kind=MovementKind.RECEIPT,
            )
            adjust_stock(uow, items=[item])
        self._count("receipts")

    def cancel_one(self) -> None:
        with self.container.uow(read_only=True) as uow:
            o = t.orders.c
            ids = list(
                uow.conn.execute(
                    select(o.id)
                    .where(
                        o.status.in_(
                            [
                                OrderStatus.ALLOCATED.value,
                                OrderStatus.RECEIVED.value,
                                OrderStatus.BACKORDERED.value,
                            ]
                        )
                    )
                    .order_by(o.placed_at.desc())
                    .limit(10)
                ).scalars()
            )
        if not ids:
            return
        try:
            with self.container.uow(actor="demo-customer") as uow:
                cancel_order(uow, order_id=self.rng.choice(ids), reason="customer_request")
            self._count("cancellations")
        except OrderHubError as error:  # it moved on meanwhile (shipped): fine for a demo
            log.info("demo cancellation skipped: %s", error)
