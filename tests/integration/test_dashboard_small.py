"""Small dashboard behaviours: the reports' charts, ISO date fields, the not-found page, the
routing simulator's message for a quantity in words, the overview's live region."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.inventory_helpers import T0, add_locations, place, receive


def test_reports_draw_orders_per_day_and_each_rate_beside_the_tables(
    client: TestClient, seeded: Container
) -> None:
    add_locations(seeded, ("east", 1))
    receive(seeded, "SKU-1", "east", 5)
    two_days_ago = utc_now() - timedelta(days=2)  # inside the range, whatever today is
    place(seeded, 1, [("SKU-1", 1)], minutes=int((two_days_ago - T0).total_seconds() // 60))
    signed_in(client, seeded)
    last = utc_now().date()
    first = last - timedelta(days=12)  # 13 days: labels every other day from the last reach it
    page = client.get(f"/reports?from={first.isoformat()}&to={last.isoformat()}")
    assert page.status_code == 200
    assert page.text.count('data-testid="orders-chart"') == 1
    assert page.text.count('data-testid="rate-chart"') == 4
    assert 'data-testid="rates"' in page.text  # the table stays
    # Thirteen ISO days on the axis, the first and the last among the labels.
    assert f">{first.isoformat()}</text>" in page.text
    assert f">{last.isoformat()}</text>" in page.text
    assert re.search(r"<title>web: Fill rate \d+\.\d %</title>", page.text)


def test_date_fields_take_iso_text_not_the_browsers_locale_picker(
    client: TestClient, seeded: Container
) -> None:
    signed_in(client, seeded)
    for path in ("/reports", "/orders"):
        html = client.get(path).text
        assert 'type="date"' not in html
        assert html.count('data-format="iso-date"') == 2
        assert 'placeholder="YYYY-MM-DD"' in html


def test_an_unknown_dashboard_address_answers_a_page_and_the_api_a_problem(
    client: TestClient, seeded: Container
) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    assert "/no/such/page" in page.text
    api = client.get("/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["status"] == 404
    missing = client.get("/static/no-such-file.css")  # the mount answers outside the sessions
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_a_quantity_in_words_is_a_message_not_a_python_error(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    fields = {"channel": "web", "country": "US", "lines": "MUG-LOGO two"}
    answer = submit(client, "/routing/simulate", token, fields)
    assert answer.status_code == 422
    assert "the quantity of MUG-LOGO must be a whole number, not &#39;two&#39;" in answer.text
    assert "invalid literal" not in answer.text
    extra = submit(client, "/routing/simulate", token, {**fields, "lines": "MUG-LOGO 2 3"})
    assert "one SKU and one quantity per line" in extra.text


def test_the_refreshing_tiles_sit_in_a_polite_live_region(
    client: TestClient, seeded: Container
) -> None:
    signed_in(client, seeded)
    html = client.get("/").text
    region = html.index('aria-live="polite"')
    assert region < html.index('id="overview-live"') < html.index('data-testid="orders-today"')
    assert 'aria-live="off">Updated' in html  # the clock ticking is not news
