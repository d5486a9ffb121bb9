"""ASGI middleware: refuse request bodies over the configured size with a 413."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_body_size` bytes with a 413 before the app reads them.

    A declared Content-Length is checked up front (the server never delivers more than it
    declares), and a request with neither Content-Length nor Transfer-Encoding has no body:
    both pass through untouched. Chunked bodies are read and counted first.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and not chunked:
            if declared.isdigit() and int(declared) > self.max_body_size:
                await self._refuse(send)
            else:
                await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)

    async def _refuse(self, send: Send) -> None:
        detail = f"Request body is larger than {self.max_body_size} bytes."
        body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out the buffered messages, then defers to the real one."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


#: Sent with every response that does not set them itself (OWASP REST Security Cheat Sheet).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # API answers hold tokens and personal data: never stored by browsers or proxies, unless
    # a view chose its own Cache-Control.
    (b"cache-control", b"no-store"),
)
#: JSON needs no scripts, styles or frames; HTML pages (/docs) are left to their own policy.
JSON_CONTENT_SECURITY_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; frame-ancestors 'none'",
)
#: HTTPS only, for two years; sent in production (browsers ignore it over plain HTTP).
STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Adds `SECURITY_HEADERS` (and a CSP on JSON, HSTS in production) where a response lacks them."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        https = [STRICT_TRANSPORT_SECURITY] if hsts else []
        #: What a response that sets none of them gets, without and with a JSON body.
        self._extra = [*SECURITY_HEADERS, *https]
        self._json_extra = [*SECURITY_HEADERS, JSON_CONTENT_SECURITY_POLICY, *https]
        self._names = frozenset(name for name, _ in self._json_extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                present = set()
                json_body = False
                for name, value in headers:
                    name = name.lower()
                    if name == b"content-type" and name not in present:
                        json_body = b"json" in value  # the first Content-Type counts
                    present.add(name)
                extra = self._json_extra if json_body else self._extra
                if not present.isdisjoint(self._names):  # the response set some itself
                    extra = [header for header in extra if header[0] not in present]
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
