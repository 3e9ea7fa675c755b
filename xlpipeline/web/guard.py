"""Every request passes here before any page: the server serves the user's files, so it is
treated as a server (issue 22, item 5).

- Host must be the loopback address and our port (a DNS-rebinding page names another host).
- The token: from the printed address once (`?token=…`, then a redirect that drops it from the
  address bar), afterwards from an HttpOnly, SameSite=Strict cookie. Without it: 403.
- POST only for changes; a POST from another origin is refused, it must declare its length and
  stay under the upload limit (checked before a byte of it is read); its CSRF token is checked
  where the form is read (`app.posted`).
- Every answer carries a Content-Security-Policy without inline script, and is never cached.
- The WPS tab's add-in runs in WPS's own browser, from its own files: its calls (`/api/wps/…`) come
  from another origin and carry the WPS link's token in a header (no cookie; answered with CORS
  headers, a preflight without the token); `/wps/open` with that token in the address opens a page
  in WPS's task pane and sets the cookie there.
"""
from __future__ import annotations

import hmac
import html
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

COOKIE = "xlpipeline"
WPS_API, WPS_OPEN, WPS_HEADER = "/api/wps/", "/wps/open", "x-xlpipeline-token"
CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-headers", b"content-type, x-xlpipeline-token"),
        (b"access-control-allow-methods", b"POST"), (b"access-control-max-age", b"600")]
MAX_UPLOAD = 100 * 1024 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"), (b"cache-control", b"no-store"),
           (b"x-frame-options", b"SAMEORIGIN")]


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


class Guard:
    def __init__(self, app, token: str, port: int, max_upload: int = MAX_UPLOAD, wps_token: str | None = None):
        self.app, self.token, self.max_upload, self.wps_token = app, token, max_upload, wps_token
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        if headers.get("host") not in self.hosts:
            return await refuse(send, 403, "拒绝访问：请求的主机名不是本机地址。请用启动时显示的地址打开。")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no token
            cookie = SimpleCookie()
        if method in ("GET", "HEAD") and same(query.get("token"), self.token):
            rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
            path = scope.get("raw_path") or scope["path"].encode("utf-8")
            return await redirect(send, path + (f"?{rest}".encode() if rest else b""), self.token)
        if scope["path"].startswith(WPS_API) and self.wps_token:
            return await self._wps_call(scope, receive, send, method, headers)
        if scope["path"] == WPS_OPEN and method == "GET" and self.wps_token and same(query.get("token"), self.wps_token):
            return await self.app(scope, receive, self._with_headers(send, [(b"set-cookie", _cookie(self.token))]))
        if not same(cookie[COOKIE].value if COOKIE in cookie else None, self.token):
            return await refuse(send, 403, "拒绝访问：缺少访问令牌。请用启动时显示的地址（含 token）打开本页，"
                                           "或从“模范机关考评”图标重新启动。")
        if method not in ("GET", "HEAD", "POST"):
            return await refuse(send, 405, "不支持的请求方式。")
        if method == "POST":
            origin = headers.get("origin")
            if (origin is not None and origin not in self.origins) or \
                    headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return await refuse(send, 403, "拒绝访问：请求来自其他网站。")
            length = headers.get("content-length", "")
            if not length.isdigit():
                return await refuse(send, 411, "请求缺少长度信息，已拒绝。")
            if int(length) > self.max_upload:
                return await refuse(send, 413, f"上传的内容太大（{int(length) / 1048576:.0f} MB），"
                                               f"每次最多 {self.max_upload // 1048576} MB，已拒绝。")

        await self.app(scope, receive, self._with_headers(send))

    async def _wps_call(self, scope, receive, send, method: str, headers: dict):
        if method == "OPTIONS":  # the browser's preflight of a cross-origin call: no token in it
            return await _answer(send, 204, b"", CORS)
        if method != "POST" or not same(headers.get(WPS_HEADER), self.wps_token):
            return await refuse(send, 403, "拒绝访问：WPS 加载项的访问令牌无效。请重新运行 xlpipeline wps install。", CORS)
        length = headers.get("content-length", "")
        if not length.isdigit() or int(length) > 1024 * 1024:
            return await refuse(send, 413, "请求过大，已拒绝。", CORS)
        await self.app(scope, receive, self._with_headers(send, CORS))

    @staticmethod
    def _with_headers(send, extra: list | None = None):
        """`send`, adding the security headers (and `extra`) to the response."""
        async def secured(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + HEADERS + (extra or [])}
            await send(message)
        return secured


async def refuse(send, status: int, text: str, extra: list | None = None) -> None:
    body = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>模范机关考评</title>'
            f"<p>{html.escape(text)}</p></html>").encode("utf-8")
    await _answer(send, status, body, [(b"content-type", b"text/html; charset=utf-8"), (b"connection", b"close")]
                  + (extra or []))


def _cookie(token: str) -> bytes:
    return f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/".encode()


async def redirect(send, location: bytes, token: str) -> None:
    await _answer(send, 303, b"", [(b"location", location), (b"set-cookie", _cookie(token))])


async def _answer(send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())] + HEADERS})
    await send({"type": "http.response.body", "body": body})
