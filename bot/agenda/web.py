"""The public agenda on the bot's web server: pages, calendars and the Atom feed.

Every answer is built from published items only. An unknown address, a rotated one, an
unpublished gathering and an id that never existed all get the very same 404 page, so
nothing can be learnt by trying addresses. Pages are cacheable by a reverse proxy
(``Cache-Control: public, no-cache`` with a strong ``ETag``: the proxy keeps a copy and asks
again each time, so taking a gathering off shows at once), and the Content-Security-Policy
allows nothing but the one stylesheet served here.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.agenda import calendar
from bot.agenda.addresses import PREFIX, AgendaAddresses, Scope
from bot.agenda.render import ASSETS, LANGUAGES, Pages, own_name
from bot.agenda.service import Agenda
from bot.core.feature import Route
from bot.core.i18n import Phrasebook, base_language, is_rtl
from bot.core.storage.database import utcnow
from bot.gatherings.public import PublicGathering

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Proxies may keep a copy but must ask again before using it (an ETag makes that cheap):
# an unpublished gathering disappears from every cache at the next request.
PAGE_CACHE = "public, no-cache"
ASSET_CACHE = "public, max-age=86400"
HTML = "text/html; charset=utf-8"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def negotiate(query_lang: str, accept_language: str, default: str) -> tuple[str, bool]:
    """(the page language, whether the visitor chose it with ``?lang=``)."""
    asked = query_lang.strip().lower()
    if asked in LANGUAGES:
        return asked, True
    wanted: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        code, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if code and quality > 0:
            wanted.append((-quality, index, base_language(code)))
    for _quality, _index, code in sorted(wanted):
        if code in LANGUAGES:
            return code, False
    fallback = base_language(default)
    return (fallback if fallback in LANGUAGES else "en"), False


def atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class AgendaSite:
    def __init__(
        self,
        agenda: Agenda,
        addresses: AgendaAddresses,
        phrases: Phrasebook,
        *,
        default_language: str,
    ) -> None:
        self.agenda = agenda
        self.addresses = addresses
        self.phrases = phrases
        self.default_language = default_language
        self.pages = Pages()
        self.css = (ASSETS / "agenda.css").read_bytes()

    def routes(self) -> list[Route]:
        slug = "{slug:[A-Za-z0-9_-]+}"
        gid = "{gid:[^/.]+}"
        return [
            Route(f"{PREFIX}/assets/agenda.css", self.stylesheet),
            Route(f"{PREFIX}/{slug}", self.agenda_page),
            Route(f"{PREFIX}/{slug}/places", self.places_page),
            Route(f"{PREFIX}/{slug}/calendar.ics", self.calendar_feed),
            Route(f"{PREFIX}/{slug}/feed.atom", self.atom_feed),
            Route(f"{PREFIX}/{slug}/gathering/{gid}.ics", self.gathering_ics),
            Route(f"{PREFIX}/{slug}/gathering/{gid}", self.gathering_page),
            Route(PREFIX, self.missing),
            Route(PREFIX + "/{tail:.*}", self.missing),
        ]

    # ---- shared pieces --------------------------------------------------------------------

    def _language(self, request: web.Request) -> tuple[str, bool]:
        return negotiate(
            request.query.get("lang", ""),
            request.headers.get("Accept-Language", ""),
            self.default_language,
        )

    def _root(self) -> tuple[str, str]:
        """(absolute base URL, its path) of the agenda, e.g. behind a proxy's sub-path."""
        base = self.addresses.base() or PREFIX
        return base, urlsplit(base).path

    def _domain(self) -> str:
        return urlsplit(self._root()[0]).hostname or "liaison"

    def _context(
        self, lang: str, chosen: bool, slug: str | None, *, section: str = ""
    ) -> dict[str, Any]:
        base, path = self._root()
        links: dict[str, str] = {"css": f"{path}/assets/agenda.css", "agenda": "", "places": ""}
        links |= {"calendar": "", "atom": "", "gathering_base": ""}
        if slug is not None:
            links |= {
                "agenda": f"{path}/{slug}",
                "places": f"{path}/{slug}/places",
                "gathering_base": f"{path}/{slug}/gathering/",
                "calendar": f"{base}/{slug}/calendar.ics",
                "atom": f"{path}/{slug}/feed.atom",
            }
        return {
            "lang": lang,
            "dir": "rtl" if is_rtl(lang) else "ltr",
            "t": self.phrases.translator(lang),
            "query": f"?lang={lang}" if chosen else "",
            "links": links,
            "section": section,
            "languages": [
                {"code": code, "name": own_name(code), "current": code == lang}
                for code in LANGUAGES
            ],
        }

    def _respond(
        self,
        request: web.Request,
        body: bytes,
        content_type: str,
        *,
        status: int = 200,
        cache: str = PAGE_CACHE,
        lang: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        common = {
            **SECURITY_HEADERS,
            "Cache-Control": cache,
            "ETag": etag,
            "Vary": "Accept-Language",
        }
        if lang is not None:
            common["Content-Language"] = lang
        wanted = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
        if status == 200 and (etag in wanted or "*" in wanted):
            return web.Response(status=304, headers=common)
        return web.Response(
            body=body,
            status=status,
            headers={**common, "Content-Type": content_type, **(headers or {})},
        )

    def _scope(self, request: web.Request) -> tuple[str, Scope] | None:
        slug = request.match_info.get("slug", "")
        scope = self.addresses.resolve(slug) if slug else None
        return (slug, scope) if scope is not None else None

    def _not_found(self, request: web.Request) -> web.Response:
        """One page for every address that shows nothing: unknown, rotated or unpublished."""
        lang, chosen = self._language(request)
        context = self._context(lang, chosen, None)
        body = self.pages.render(
            "missing.html", page_title=context["t"]("Page not found"), **context
        )
        return self._respond(request, body.encode(), HTML, status=404, lang=lang)

    # ---- handlers ------------------------------------------------------------------------

    async def missing(self, request: web.Request) -> web.Response:
        return self._not_found(request)

    async def stylesheet(self, request: web.Request) -> web.Response:
        return self._respond(request, self.css, "text/css; charset=utf-8", cache=ASSET_CACHE)

    async def agenda_page(self, request: web.Request) -> web.Response:
        found = self._scope(request)
        if found is None:
            return self._not_found(request)
        slug, scope = found
        lang, chosen = self._language(request)
        context = self._context(lang, chosen, slug, section="agenda")
        months = await self.agenda.months(scope, lang)
        t = context["t"]
        body = self.pages.render(
            "agenda.html",
            page_title=f"{t('Upcoming gatherings')} · {t('Public agenda')}",
            months=months,
            **context,
        )
        return self._respond(request, body.encode(), HTML, lang=lang)

    async def gathering_page(self, request: web.Request) -> web.Response:
        found = self._scope(request)
        if found is None:
            return self._not_found(request)
        slug, scope = found
        lang, chosen = self._language(request)
        result = await self.agenda.gathering(scope, request.match_info["gid"], lang)
        if result is None:
            return self._not_found(request)
        shown, dates = result
        now = utcnow()
        coming = [d for d in dates if (d.ends_at or d.starts_at) >= now]
        context = self._context(lang, chosen, slug, section="agenda")
        body = self.pages.render(
            "gathering.html",
            page_title=shown.title.text,
            shown=shown,
            dates=coming or dates[:1],
            over=not coming,
            ics=f"{context['links']['gathering_base']}{shown.gathering.id}.ics",
            **context,
        )
        return self._respond(request, body.encode(), HTML, lang=lang)

    async def places_page(self, request: web.Request) -> web.Response:
        found = self._scope(request)
        if found is None:
            return self._not_found(request)
        slug, scope = found
        lang, chosen = self._language(request)
        context = self._context(lang, chosen, slug, section="places")
        places = await self.agenda.places_page(scope, lang)
        t = context["t"]
        body = self.pages.render(
            "places.html",
            page_title=f"{t('Places')} · {t('Public agenda')}",
            places=places,
            **context,
        )
        return self._respond(request, body.encode(), HTML, lang=lang)

    def _page_url(self, slug: str, gathering_id: str) -> str:
        return f"{self._root()[0]}/{slug}/gathering/{gathering_id}"

    async def gathering_ics(self, request: web.Request) -> web.Response:
        found = self._scope(request)
        if found is None:
            return self._not_found(request)
        slug, scope = found
        gathering = self.agenda.gatherings.one(request.match_info["gid"].lower(), scope.room_ids)
        if gathering is None:
            return self._not_found(request)
        body = calendar.calendar(
            [gathering],
            name=gathering.title,
            domain=self._domain(),
            page_url=lambda gid: self._page_url(slug, gid),
        )
        return self._respond(
            request,
            body,
            "text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{gathering.id}.ics"'},
        )

    async def calendar_feed(self, request: web.Request) -> web.Response:
        found = self._scope(request)
        if found is None:
            return self._not_found(request)
        slug, scope = found
        lang, _chosen = self._language(request)
        body = calendar.calendar(
            self.agenda.calendar_items(scope),
            name=self.phrases.text(lang, "Public agenda"),
            domain=self._domain(),
            page_url=lambda gid: self._page_url(slug, gid),
        )
        return self._respond(request, body, "text/calendar; charset=utf-8")

    async def atom_feed(self, request: web.Request) -> web.Response:
        found = self._scope(request)
        if found is None:
            return self._not_found(request)
        slug, scope = found
        lang, chosen = self._language(request)
        entries = await self.agenda.feed(scope, lang)
        base = self._root()[0]
        domain = self._domain()
        query = f"?lang={lang}" if chosen else ""

        def entry_id(gathering: PublicGathering) -> str:
            return uuid.uuid5(uuid.NAMESPACE_URL, f"{domain}/gathering/{gathering.id}").urn

        def page_url(gathering: PublicGathering) -> str:
            return self._page_url(slug, gathering.id) + query

        updated = max((item.gathering.changed_at for item in entries), default=EPOCH)
        body = self.pages.render(
            "feed.atom.xml",
            lang=lang,
            t=self.phrases.translator(lang),
            feed_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/{slug}").urn,
            updated=atom_time(updated),
            self_url=f"{base}/{slug}/feed.atom{query}",
            agenda_url=f"{base}/{slug}{query}",
            entries=entries,
            entry_id=entry_id,
            page_url=page_url,
            atom_time=atom_time,
        )
        return self._respond(
            request, body.encode(), "application/atom+xml; charset=utf-8", lang=lang
        )
