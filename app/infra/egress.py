"""The one door for outbound HTTP to addresses users typed (alert webhooks, Webhook and External Service
Stages, calendars), guarded against SSRF.

A destination is resolved once, every address it resolves to must be public (not loopback, private,
link-local — e.g. cloud metadata at 169.254.169.254 —, multicast, reserved or unspecified, IPv4-mapped
forms included), and the connection then goes to exactly those checked addresses (the Host header and
TLS certificate check still use the name), so a DNS answer that changes between check and connect
(rebinding) cannot reach an internal address. Redirects are never followed (a 3xx is returned as it is).
A caller may also pass an allow-list (`allowed`: a Stage's hosts, each `host`, `host:port` or
`*.domain`): a URL whose host and port are not on it is refused before any DNS lookup.
`WEBHOOK_ALLOW_PRIVATE` (env PROCLY_WEBHOOK_ALLOW_PRIVATE=1) lifts the address rule (never the
allow-list) for installs whose receivers live on a private network, and for tests, whose receivers
listen on 127.0.0.1."""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app, has_app_context

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
RESOLVER = "procly_resolver"   # app.extensions key of a getaddrinfo-like seam (tests answer DNS with it)
MAX_RESPONSE = 1024 * 1024


class BlockedDestination(ValueError):
    """The URL points at an address Procly does not call."""


class NotAllowedHost(BlockedDestination):
    """The host (and port) is not on the calling Stage's allow-list."""


def private_allowed() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_problem(host: str) -> str | None:
    """Save-time check without DNS: a literal non-public IP, or a local name (None = fine)."""
    if private_allowed():
        return None
    name = host.lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return "local addresses are not allowed"
    try:
        ok = is_public(name)
    except ValueError:
        try:    # the legacy numeric forms resolvers accept: 127.1, 0x7f.0.0.1, 2130706433
            ok = is_public(socket.inet_ntoa(socket.inet_aton(name)))
        except OSError:
            return None      # a name: checked when it is resolved, at delivery
    return None if ok else "private, loopback and link-local addresses are not allowed"


def url_problem(url: str, *, allow_private: bool = False) -> str | None:
    """Why `url` may not be called (None = fine): absolute http(s) only, a host, no credentials, no
    spaces or control characters, and no literal private/loopback address or local name (names are
    checked again when they are resolved, at the call)."""
    url = (url or "").strip()
    if not url:
        return "a URL is required"
    if any(c.isspace() for c in url) or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return "no spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// URLs"
    if not parts.hostname:
        return "the URL needs a host"
    if parts.username or parts.password:
        return "no credentials in the URL"
    return None if allow_private else literal_problem(parts.hostname)


# --- the per-Stage allow-list ----------------------------------------------------------------------

def _entry(entry: str) -> tuple[str, int | None]:
    """(host, port or None) of an allow-list entry: `host`, `host:port`, `[v6]:port`, `*.domain`."""
    text = (entry or "").strip().lower()
    if not text or "/" in text or "@" in text or any(c.isspace() for c in text):
        raise ValueError("write a host name, optionally with :port (e.g. api.example.com:8443)")
    parts = urlsplit("//" + text)
    host, port = parts.hostname, parts.port    # ValueError on a bad port
    if not host:
        raise ValueError("write a host name, optionally with :port")
    wildcard = host.startswith("*.")
    name = host[2:] if wildcard else host
    if not name or "*" in name or (wildcard and "." not in name):
        raise ValueError("a wildcard is only allowed as the first label of a domain (*.example.com)")
    return host.rstrip("."), port


def allow_list_problem(entry: str) -> str | None:
    """Why `entry` is not a valid allow-list entry (None = fine)."""
    try:
        _entry(entry)
    except ValueError as exc:
        return str(exc) if "port" in str(exc) or "wildcard" in str(exc) else "not a valid host or port"
    return None


def host_allowed(host: str, port: int, allowed: list[str], scheme: str | None = None) -> bool:
    """Is (host, port) on the allow-list? An entry without a port allows the scheme's default port
    only (80 or 443; either when `scheme` is not given); `*.example.com` allows its subdomains (not
    example.com itself). Names compare case-insensitively, without a trailing dot."""
    host = (host or "").lower().rstrip(".")
    defaults = {443 if scheme == "https" else 80} if scheme else {80, 443}
    for entry in allowed:
        try:
            name, entry_port = _entry(entry)
        except ValueError:
            continue
        if not (port == entry_port if entry_port else port in defaults):
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif host == name:
            return True
    return False


# --- resolving and connecting ----------------------------------------------------------------------

def _getaddrinfo(host: str, port: int):
    seam = current_app.extensions.get(RESOLVER) if has_app_context() else None
    return (seam or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)


def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to; raises BlockedDestination if any of them is not public."""
    try:
        infos = _getaddrinfo(host, port)
    except OSError as exc:
        raise BlockedDestination(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_allowed():
        bad = [a for a in addresses if not is_public(a)]
        if bad or not addresses:
            raise BlockedDestination(f"{host} resolves to a non-public address ({(bad or ['none'])[0]})")
    return addresses


def _resolve_any(host: str, port: int) -> list[str]:
    """The addresses of a destination an administrator allowed on a private network: anything but
    link-local (cloud metadata, 169.254.169.254), multicast, reserved or "any"."""
    try:
        infos = _getaddrinfo(host, port)
    except OSError as exc:
        raise BlockedDestination(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        ip = (ip.ipv4_mapped or ip) if ip.version == 6 else ip
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            raise BlockedDestination(f"{host} resolves to a link-local or reserved address ({address})")
    return addresses


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address")


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self):
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addresses = addresses

    def connect(self):
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict = field(default_factory=dict)   # lower-case names
    body: bytes = b""
    truncated: bool = False                       # the body was longer than max_bytes


def request(method: str, url: str, *, body: bytes | None = None, headers: dict | None = None, timeout: float,
            allowed_hosts: list[str] | None = None, allow_private: bool = False,
            max_bytes: int = MAX_RESPONSE) -> Response:
    """One HTTP request through the checks above: the URL's form, the allow-list (`allowed_hosts`, when
    given: NotAllowedHost before any DNS lookup), every
    resolved address public (unless the install allows private ones), the connection pinned to them.
    A 3xx is returned, never followed. `allow_private`: an administrator's allowance for this one
    destination (an AI connection's model server on the private network) on top of
    WEBHOOK_ALLOW_PRIVATE — never link-local (metadata), multicast or reserved addresses. Raises BlockedDestination (refused before any connection),
    TimeoutError / OSError / http.client.HTTPException (network)."""
    problem = url_problem(url, allow_private=allow_private)
    if problem:
        raise BlockedDestination(f"{urlsplit(url.strip()).hostname or url.strip()[:100]}: {problem}")
    parts = urlsplit(url.strip())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allowed_hosts is not None and not host_allowed(parts.hostname, port, allowed_hosts, parts.scheme):
        raise NotAllowedHost(f"{parts.hostname}:{port} is not on this Stage's list of allowed hosts")
    addresses = _resolve_any(parts.hostname, port) if allow_private else resolve(parts.hostname, port)
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname, port, addresses, timeout)
    try:
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=headers or {})
        resp = conn.getresponse()
        data = resp.read(max_bytes + 1)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data[:max_bytes],
                        len(data) > max_bytes)
    finally:
        conn.close()


def post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST `body` to an http(s) URL through the checks above; returns the HTTP status (a 3xx is
    returned, not followed)."""
    return request("POST", url, body=body, headers=headers, timeout=timeout, max_bytes=65536).status

