"""``/v1/docs``: Swagger UI served from the package (``web/static/swagger-ui``), no CDN.

The page loads only same-origin files, so it works offline and under the API's CSP
(:data:`orderhub.api.headers.DOCS_CSP`); the start-up script is a file, not inline.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>OrderHub API</title>
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-ui/init.js"></script>
</body>
</html>
"""


@router.get("/v1/docs", include_in_schema=False)
def swagger_ui() -> HTMLResponse:
    return HTMLResponse(PAGE)
