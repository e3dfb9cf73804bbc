"""Online engines through deep-translator: LibreTranslate, DeepL, Google, MyMemory, Microsoft.

deep-translator is blocking and sets no timeouts. Each call runs in a worker thread under
``asyncio.wait_for``, with a fresh translator object (they keep per-call state), bounded by a
semaphore; and the ``requests`` calls inside deep-translator get a socket timeout too, so a
hanging provider cannot pin worker threads (or block interpreter exit) for ever.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from bot.translation.base import TranslationError, base_language

if TYPE_CHECKING:
    from bot.core.config import EngineConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

PROVIDERS = ("libre", "deepl", "google", "mymemory", "microsoft")
_MAX_CHARS = {"mymemory": 450, "libre": 2000}
# Google's historical codes for a few languages.
_ALIASES = {"iw": "he", "jw": "jv"}

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


class _RequestsWithTimeout:
    """Stands in for ``requests`` inside deep-translator's provider modules."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @staticmethod
    def _timeout() -> float:
        return float(getattr(_local, "timeout", 30.0))

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout())
        return requests.get(*args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout())
        return requests.post(*args, **kwargs)


def _install_timeouts() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        for provider in ("google", "deepl", "libre", "mymemory", "microsoft"):
            module = importlib.import_module(f"deep_translator.{provider}")
            module.requests = _RequestsWithTimeout()  # type: ignore[attr-defined]
        _installed = True


def _code_map(codes: list[str]) -> dict[str, str]:
    """639-1 -> provider code; ``fr-FR`` is preferred over ``fr-CA`` for ``fr``."""
    mapping: dict[str, str] = {}
    for code in codes:
        base = _ALIASES.get(base_language(code), base_language(code))
        region = code.replace("_", "-").partition("-")[2]
        current = mapping.get(base)
        if current is None or (
            region.lower() == base and current.partition("-")[2].lower() != base
        ):
            mapping[base] = code
        if code.lower() == base:
            mapping[base] = code
    return mapping


class DeepTranslator:
    """One deep-translator provider as a :class:`~bot.translation.base.Translator`."""

    def __init__(
        self,
        provider: str,
        config: EngineConfig,
        *,
        timeout: float = 10.0,
        max_concurrency: int = 4,
    ) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown deep-translator provider {provider!r}")
        _install_timeouts()
        self.name = provider
        self.config = config
        self.timeout = timeout
        self.max_chars = _MAX_CHARS.get(provider, 4500)
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._codes: dict[str, str] | None = None
        self._pairs: set[tuple[str, str]] | None = None
        self._microsoft_languages: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    async def _run(self, fn: Callable[[], T]) -> T:
        timeout = self.timeout

        def call() -> T:
            # the socket gives up a little after the caller stops waiting, so the caller's
            # deadline always decides (and says so), and the thread still ends soon after
            _local.timeout = timeout + 1.0
            return fn()

        async with self._semaphore:
            try:
                return await asyncio.wait_for(asyncio.to_thread(call), timeout)
            except TimeoutError:
                raise TranslationError(f"{self.name}: no answer within {timeout:g}s") from None
            except TranslationError:
                raise
            except Exception as exc:
                raise TranslationError(f"{self.name}: {_describe(exc)}") from None

    async def pairs(self) -> set[tuple[str, str]]:
        async with self._lock:
            if self._pairs is None:
                self._pairs = await self._load_pairs()
            return set(self._pairs)

    async def _load_pairs(self) -> set[tuple[str, str]]:
        if self.name == "libre":
            return await self._libre_pairs()
        if self.name == "microsoft":
            self._microsoft_languages = await self._run(_microsoft_languages)
            codes = list(self._microsoft_languages.values())
        else:
            codes = list(
                _provider_class(self.name)().get_supported_languages(as_dict=True).values()
            )
        self._codes = _code_map(codes)
        langs = set(self._codes)
        return {(a, b) for a in langs for b in langs if a != b}

    async def _libre_pairs(self) -> set[tuple[str, str]]:
        from deep_translator.constants import LIBRE_LANGUAGES_TO_CODES

        url = self._libre_url() + "languages"
        data = await self._run(lambda: _get_json(url))
        if not isinstance(data, list):
            raise TranslationError("libre: /languages answered garbage")
        known = set(LIBRE_LANGUAGES_TO_CODES.values())
        codes = [
            item["code"]
            for item in data
            if isinstance(item, dict)
            and isinstance(item.get("code"), str)
            and item["code"] in known
        ]
        self._codes = _code_map(codes)
        pairs: set[tuple[str, str]] = set()
        for item in data:
            if not isinstance(item, dict) or item.get("code") not in codes:
                continue
            targets = item.get("targets")
            targets = targets if isinstance(targets, list) else codes
            source = base_language(item["code"])
            pairs |= {(source, base_language(t)) for t in targets if t in codes}
        return {(a, b) for a, b in pairs if a != b}

    def _libre_url(self) -> str:
        url = self.config.url or "https://libretranslate.com/"
        return url if url.endswith("/") else url + "/"

    async def translate(self, text: str, source: str, target: str) -> str:
        pairs = await self.pairs()
        if (source, target) not in pairs or self._codes is None:
            raise TranslationError(f"{self.name}: no pair {source}->{target}")
        src, tgt = self._codes[source], self._codes[target]
        result = await self._run(lambda: self._blocking_translate(text, src, tgt))
        if not isinstance(result, str) or (text.strip() and not result.strip()):
            raise TranslationError(f"{self.name}: answer without a translation")
        return result

    def _blocking_translate(self, text: str, src: str, tgt: str) -> Any:
        """Runs in a worker thread: a fresh translator object for this one call."""
        cfg = self.config
        translator: Any
        if self.name == "libre":
            from deep_translator import LibreTranslator

            # deep-translator insists on a key; a self-hosted server may not need one.
            translator = LibreTranslator(
                source=src,
                target=tgt,
                api_key=cfg.api_key or "-",
                custom_url=self._libre_url(),
            )
            translator.api_key = cfg.api_key
        elif self.name == "deepl":
            from deep_translator import DeeplTranslator

            translator = DeeplTranslator(
                source=src, target=tgt, api_key=cfg.api_key, use_free_api=cfg.free_api
            )
        elif self.name == "google":
            from deep_translator import GoogleTranslator

            translator = GoogleTranslator(source=src, target=tgt)
        elif self.name == "mymemory":
            from deep_translator import MyMemoryTranslator

            translator = MyMemoryTranslator(source=src, target=tgt, email=cfg.email or None)
        else:
            translator = _microsoft_class(self._microsoft_languages or {})(
                source=src, target=tgt, api_key=cfg.api_key, region=cfg.region or None
            )
        return translator.translate(text)


def _describe(exc: BaseException) -> str:
    """A short reason that never repeats the text (deep-translator puts it in some messages)."""
    from deep_translator.exceptions import AuthorizationException, ServerException

    if isinstance(exc, AuthorizationException):
        return "authorization refused (check the API key)"
    if isinstance(exc, ServerException):
        return f"server error ({exc.args[0] if exc.args else 'unknown'})"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _get_json(url: str) -> Any:
    response = requests.get(url, timeout=_RequestsWithTimeout._timeout())
    if response.status_code != 200:
        raise TranslationError(f"libre: HTTP {response.status_code} from /languages")
    return response.json()


def _provider_class(name: str) -> Callable[..., Any]:
    import deep_translator

    classes = {
        "deepl": lambda: deep_translator.DeeplTranslator(api_key="-"),
        "google": deep_translator.GoogleTranslator,
        "mymemory": deep_translator.MyMemoryTranslator,
    }
    return classes[name]


def _microsoft_languages() -> dict[str, str]:
    from deep_translator import MicrosoftTranslator

    return dict(MicrosoftTranslator._get_supported_languages(None))  # type: ignore[arg-type]


def _microsoft_class(languages: dict[str, str]) -> type:
    """MicrosoftTranslator fetches its language list in ``__init__``; reuse ours instead."""
    from deep_translator import MicrosoftTranslator

    class _Preloaded(MicrosoftTranslator):  # type: ignore[misc]
        def _get_supported_languages(self) -> dict[str, str]:
            return languages

    return _Preloaded
