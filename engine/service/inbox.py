"""The regulators' web inbox: one static page and vanilla JavaScript against the regulator API.

No front-end build and no CDN (regulators' machines often have no internet):
the page is plain HTML/CSS/JS shipped in ``engine/service/static`` and served
by the same process. It logs in with a bureau token (kept in the tab's
``sessionStorage`` only), lists alerts with filters and severity colours,
shows an alert's legal basis, evidence with matched terms highlighted,
window values, model explanation and history, acknowledges and records
dispositions, and shows the per-day chart (SVG drawn by the server).
Every action goes through the same API and region scope as any client.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
FILES = ("index.html", "inbox.js", "inbox.css")


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/inbox/")


def _serve(name: str):  # noqa: ANN202 - an aiohttp handler
    path = STATIC / name

    async def handler(request: web.Request) -> web.Response:
        # read per request: small files, and an edited page shows without restart
        return web.Response(body=path.read_bytes(), content_type=_TYPES[path.suffix], charset="utf-8",
                            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                     "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                                "style-src 'self'; script-src 'self'"})

    return handler


def add_routes(app: web.Application) -> None:
    """Register the inbox pages."""
    app.router.add_get("/", _redirect)
    app.router.add_get("/inbox", _redirect)
    app.router.add_get("/inbox/", _serve("index.html"))
    for name in FILES[1:]:
        app.router.add_get(f"/inbox/{name}", _serve(name))
