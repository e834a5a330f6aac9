"""The progressive web app's two root files: the manifest and the service worker (served from ``/sw.js`` so
that its scope is the whole site; ``/static/sw.js`` could control only ``/static/``). Both are public: the
service worker holds no data, and the outbox key comes from ``/register/outbox-key`` to a signed-in user only."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

router = APIRouter()
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

MANIFEST = {
    "name": "矛盾纠纷调解",
    "short_name": "纠纷调解",
    "lang": "zh-CN",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#f5f7fa",
    "theme_color": "#1c5d99",
    "icons": [
        {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
    ],
}


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """Revalidated on every load (``no-cache``), so a new version reaches the phones at once."""
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript", headers=headers)


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    return JSONResponse(MANIFEST, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})
