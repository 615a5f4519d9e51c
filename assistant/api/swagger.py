"""The API docs at /docs, served offline from the installed swagger-ui-py package."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)


def offline_docs(app: FastAPI) -> None:
    """OpenAPI at /docs with Swagger UI served from the installed package, not a CDN."""
    # swagger-ui-py ships Swagger UI 5 (needed for OpenAPI 3.1); found without importing it.
    spec = importlib.util.find_spec("swagger_ui")
    assets: dict[str, str] = {}
    if spec and spec.submodule_search_locations:
        static = Path(next(iter(spec.submodule_search_locations))) / "static"
        app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")
        assets = {"swagger_js_url": "/docs-static/swagger-ui-bundle.js",
                  "swagger_css_url": "/docs-static/swagger-ui.css",
                  "swagger_favicon_url": "/docs-static/favicon-32x32.png"}
    else:
        log.warning("swagger-ui-py is not installed: /docs loads Swagger UI from a CDN")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title}: API", **assets,
        )
