"""What keeps the web app safe on a learner's machine: whose requests it answers, and how big.

A server on 127.0.0.1 is still reachable from any web page the learner visits, two ways:
  - DNS rebinding: evil.example resolves to 127.0.0.1 a moment after the page loads, so the page's
    requests reach this server as "same origin". Its Host header still says evil.example, so every
    request whose Host is not one of this server's own names is refused (403).
  - Cross-site form posts: a page may POST a form to http://127.0.0.1:8000 without asking. The
    browser says where it came from in Origin (and Sec-Fetch-Site), so a request that changes
    something must come from this page itself.
And every request body is read with a size limit (413 past it), so one upload cannot fill memory.
Every answer also carries headers that keep other sites from framing the page or running scripts
in it, and make the browser check the page's own files again rather than use stale copies.

This is ASGI middleware: it sees each request before FastAPI does, and answers refusals itself
with the same JSON shape as every other error: {"detail": "one line"}.
"""

import ipaddress
import json
import socket

KB = 1024
MB = 1024 * KB

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                 b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),        # revalidate (ETag) so an upgraded page is never stale
]


def allowed_host_names(bind_host):
    """The names a request's Host may use to reach a server bound to `bind_host`.

    Loopback names always; the bound address itself; and for an all-interfaces bind (0.0.0.0 or ::)
    this machine's host name and any IP address (rebinding attacks need a domain name, never an IP).
    """
    names = set(LOOPBACK_NAMES)
    host = (bind_host or "127.0.0.1").strip("[]").lower()
    names.add(host)
    if host in ("0.0.0.0", "::", ""):
        names.add("*ip")
        try:
            names.update({socket.gethostname().lower(), socket.getfqdn().lower()})
        except OSError:
            pass
    return names


def host_name(value):
    """'127.0.0.1:8000' -> '127.0.0.1', '[::1]:8000' -> '::1', 'Example.com' -> 'example.com'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    """ASGI middleware: check Host and Origin, and cap the request body.

    limits: [(path prefix, max bytes)], the first matching prefix wins; `default_limit` otherwise.
    """

    def __init__(self, app, allowed_hosts, limits=(), default_limit=256 * KB):
        self.app = app
        self.allowed = {name.lower().strip("[]") for name in allowed_hosts}
        self.limits = list(limits)
        self.default_limit = default_limit

    def host_allowed(self, name):
        return name in self.allowed or ("*ip" in self.allowed and _is_ip(name))

    def limit_for(self, path):
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if not self.host_allowed(host):
            return await refuse(send, 403, f"this server answers only to {', '.join(sorted(self.allowed - {'*ip'}))}; "
                                           f"the request's Host header was {headers.get('host', '')!r}")
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin and origin.split("//", 1)[-1].lower() != headers.get("host", "").lower():
                return await refuse(send, 403, f"requests from other sites are refused (Origin {origin!r})")
            if headers.get("sec-fetch-site") == "cross-site":
                return await refuse(send, 403, "requests from other sites are refused (Sec-Fetch-Site: cross-site)")

        limit = self.limit_for(scope["path"])
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await refuse(send, 413, too_large(scope["path"], limit, declared))
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await refuse(send, 413, too_large(scope["path"], limit, f"more than {limit}"))

        delivered = False

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in present]
            await send(message)

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()      # after the body: wait for the client to disconnect

        return await self.app(scope, replay, send_with_headers)


def too_large(path, limit, received):
    return f"request body too large for {path}: at most {describe_size(limit)}, received {received} bytes"


def describe_size(n):
    return f"{n // MB} MB" if n >= MB else f"{n // KB} KB"


async def refuse(send, status, message):
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
