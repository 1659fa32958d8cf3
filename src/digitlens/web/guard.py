"""What keeps the web app safe on a learner's machine: whose requests it answers, and how big.

A server on 127.0.0.1 is still reachable from any web page the learner visits, two ways:
  - DNS rebinding: evil.example resolves to 127.0.0.1 a moment after the page loads, so the page's
    requests reach this server as "same origin". Its Host header still says evil.example, so every
    request whose Host is not one of this server's own names is refused (403).
  - Cross-site form posts: a page may POST a form to http://127.0.0.1:8000 without asking. The
    browser says where it came from in Origin (and Sec-Fetch-Site), so a request that changes
    something must come from this page itself.
The Host header is read strictly - a name or an address, then at most a port - so that
"127.0.0.1:8000@evil.example" is not mistaken for 127.0.0.1, and Origin must be this server itself,
scheme included ("https://127.0.0.1:8000" is another origin than "http://127.0.0.1:8000").

And every request body is read with a size limit (413 past it), into a temporary file that keeps
at most 1 MB in memory; at most LARGE_BODY_SLOTS requests with bodies over 1 MB are let through at
once (the rest wait their turn), so a class uploading together cannot fill the server's memory.
Every answer also carries headers that keep other sites from framing the page or running scripts
in it, and make the browser check the page's own files again rather than use stale copies.

This is ASGI middleware: it sees each request before FastAPI does, and answers refusals itself
with the same JSON shape as every other error: {"detail": "one line"}.
"""

import asyncio
import ipaddress
import json
import re
import socket
import tempfile

KB = 1024
MB = 1024 * KB

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HOST = re.compile(r"(?P<name>[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
IN_MEMORY = 1 * MB                  # a body is kept in memory up to this, then in a temporary file
LARGE_BODY_SLOTS = 4                # requests with a body over IN_MEMORY let through at once
CHUNK = 64 * KB
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
    """'127.0.0.1:8000' -> '127.0.0.1', '[::1]:8000' -> '::1', 'Example.com' -> 'example.com';
    None for anything that is not a host and an optional port ('127.0.0.1:8000@evil.example')."""
    value = value.strip().lower()
    match = HOST.fullmatch(value)
    if match is None:
        return value if ":" in value and _is_ip(value) else None     # a bare IPv6 address
    name = match["name"]
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        return None
    if name.startswith("["):
        name = name[1:-1]
        if not _is_ip(name):
            return None
    return name


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
        self._large = None

    def host_allowed(self, name):
        return name is not None and (name in self.allowed or ("*ip" in self.allowed and _is_ip(name)))

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
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '').strip()}".lower()
            if origin is not None and origin.strip().lower() != own:
                return await refuse(send, 403, f"requests from other sites are refused (Origin {origin[:200]!r})")
            if headers.get("sec-fetch-site") == "cross-site":
                return await refuse(send, 403, "requests from other sites are refused (Sec-Fetch-Site: cross-site)")

        limit = self.limit_for(scope["path"])
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await refuse(send, 413, too_large(scope["path"], limit, declared[:30]))
        large = declared is not None and int(declared) > IN_MEMORY
        if large:
            await self.large_slots().acquire()
        try:
            with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY) as body:
                size, more = 0, True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        return await refuse(send, 413, too_large(scope["path"], limit, f"more than {limit}"))
                    if size > IN_MEMORY and not large:      # no Content-Length: take a slot now
                        large = True
                        await self.large_slots().acquire()
                    body.write(chunk)
                    more = message.get("more_body", False)
                body.seek(0)
                return await self.app(scope, replay(body, receive), send_with_headers(send))
        finally:
            if large:
                self.large_slots().release()

    def large_slots(self):
        if self._large is None:
            self._large = asyncio.Semaphore(LARGE_BODY_SLOTS)
        return self._large


class replay:
    """An ASGI receive() that hands the app the body read so far, CHUNK bytes at a time, and then
    waits for the client to disconnect, as the real receive() does."""

    def __init__(self, body, receive):
        self.body, self.receive = body, receive
        self.size = body.seek(0, 2)
        body.seek(0)
        self.done = False

    async def __call__(self):
        if self.done:
            return await self.receive()
        chunk = self.body.read(CHUNK)
        self.done = self.body.tell() >= self.size
        return {"type": "http.request", "body": chunk, "more_body": not self.done}


def send_with_headers(send):
    async def send_again(message):
        if message["type"] == "http.response.start":
            present = {key.lower() for key, _ in message.get("headers", [])}
            message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in present]
        await send(message)
    return send_again


def too_large(path, limit, received):
    return f"request body too large for {path}: at most {describe_size(limit)}, received {received} bytes"


def describe_size(n):
    return f"{n // MB} MB" if n >= MB else f"{n // KB} KB"


async def refuse(send, status, message):
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
