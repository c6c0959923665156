"""A fake Adobe Commerce REST API: ``GET /V1/orders`` search with the documented paging quirk.

Orders are kept as raw JSON texts (numbers with fractions, as Magento sends them). A page past
the end answers with the last page again, as Magento does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import httpx

from tests.support.channels import fixture_text

F = "searchCriteria[filter_groups][0][filters][0]"
ORDER_FILES = [
    "magento/order_101_configurable.json",
    "magento/order_102_canceled.json",
    "magento/order_103_shipping_discount.json",
]


@dataclass
class FakeMagento:
    orders: dict[int, str] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_on_page: int | None = None

    @classmethod
    def with_fixtures(cls) -> FakeMagento:
        fake = cls()
        for name in ORDER_FILES:
            text = fixture_text(name)
            fake.orders[json.loads(text)["entity_id"]] = text
        return fake

    def update(self, entity_id: int, **changes: object) -> None:
        data = json.loads(self.orders[entity_id])
        data.update(changes)
        self.orders[entity_id] = json.dumps(data)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != "Bearer mage-token":
            return httpx.Response(401, json={"message": "unauthorized"})
        if request.url.path != "/rest/default/V1/orders":
            return httpx.Response(404)
        params = request.url.params
        page = int(params["searchCriteria[currentPage]"])
        if page == self.fail_on_page:
            return httpx.Response(503)
        size = int(params["searchCriteria[pageSize]"])
        texts = sorted(self.orders.values(), key=lambda t: json.loads(t)["updated_at"])
        if f"{F}[field]" in params:
            assert params[f"{F}[field]"] == "updated_at"
            assert params[f"{F}[condition_type]"] == "gteq"
            since = params[f"{F}[value]"]
            texts = [t for t in texts if json.loads(t)["updated_at"] >= since]
        last = max(1, math.ceil(len(texts) / size))
        page = min(page, last)  # Magento repeats the last page past the end
        chunk = texts[(page - 1) * size : page * size]
        body = '{"items": [' + ",".join(chunk) + '], "search_criteria": {}, "total_count": '
        return httpx.Response(200, text=body + f"{len(texts)}}}")
