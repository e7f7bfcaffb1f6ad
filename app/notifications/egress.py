"""Outbound HTTP to URLs that users typed (alert webhooks), guarded against SSRF.

A destination is resolved once, every address it resolves to must be public (not loopback, private,
link-local — e.g. cloud metadata at 169.254.169.254 —, multicast, reserved or unspecified, IPv4-mapped
forms included), and the connection then goes to exactly those checked addresses (the Host header and
TLS certificate check still use the name), so a DNS answer that changes between check and connect
(rebinding) cannot reach an internal address. Redirects are never followed.
`WEBHOOK_ALLOW_PRIVATE` (env PROCLY_WEBHOOK_ALLOW_PRIVATE=1) lifts the address rule for installs whose
receivers live on a private network, and for tests, whose receivers listen on 127.0.0.1."""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class BlockedDestination(ValueError):
    """The URL points at an address Procly does not call."""


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


def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to; raises BlockedDestination if any of them is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BlockedDestination(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_allowed():
        bad = [a for a in addresses if not is_public(a)]
        if bad or not addresses:
            raise BlockedDestination(f"{host} resolves to a non-public address ({(bad or ['none'])[0]})")
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


def post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST `body` to an http(s) URL through the checks above; returns the HTTP status (a 3xx is
    returned, not followed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedDestination("only absolute http(s) URLs")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname, port, addresses, timeout)
    try:
        conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=headers)
        resp = conn.getresponse()
        resp.read(65536)
        return resp.status
    finally:
        conn.close()


# --- a request whose answer is read (the AI Prompt stage's model calls) ------------------------------

class NotAllowedHost(BlockedDestination):
    """The host (and port) is not on the calling Stage's allow-list."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict          # lower-cased names
    body: bytes
    truncated: bool = False


def host_allowed(host: str, port: int, allowed: list[str]) -> bool:
    """Is host:port on the allow-list? An entry is `host:port`, `[ipv6]:port`, or a host alone (then on
    the default ports, 80 and 443, only). Names compare case-insensitively without a trailing dot; no
    wildcards."""
    name = host.lower().rstrip(".").strip("[]")
    for entry in allowed:
        entry = entry.strip().lower()
        if entry.startswith("["):
            a_host, _, rest = entry[1:].partition("]")
            a_port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            a_host, a_port = entry.split(":")
        else:
            a_host, a_port = entry, ""
        if a_host.rstrip(".") == name and (a_port == str(port) if a_port else port in (80, 443)):
            return True
    return False


def request(method: str, url: str, *, body: bytes | None, headers: dict, timeout: float,
            allowed_hosts: list[str] | None = None, allow_private: bool = False,
            max_bytes: int = 1024 * 1024) -> Response:
    """One HTTP request through the checks above, its answer read (at most `max_bytes`). Given
    `allowed_hosts` (the Stage's allow-list), anything not on it is refused before DNS. A 3xx is
    returned as it is, never followed. `allow_private`: an administrator's allowance for this one
    destination (e.g. a model server on the private network) on top of WEBHOOK_ALLOW_PRIVATE."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise BlockedDestination("only absolute http(s) URLs without credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allowed_hosts is not None and not host_allowed(parts.hostname, port, allowed_hosts):
        raise NotAllowedHost(f"{parts.hostname}:{port} is not on this Stage's allow-list")
    if allow_private:
        addresses = _resolve_any(parts.hostname, port)
    else:
        problem = literal_problem(parts.hostname)
        if problem:
            raise BlockedDestination(f"{parts.hostname}: {problem}")
        addresses = resolve(parts.hostname, port)
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname, port, addresses, timeout)
    try:
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read(max_bytes + 1)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data[:max_bytes],
                        len(data) > max_bytes)
    finally:
        conn.close()


def _resolve_any(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BlockedDestination(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    # even on a private network: never link-local (cloud metadata, 169.254.169.254), multicast or "any"
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        ip = ip.ipv4_mapped or ip if ip.version == 6 else ip
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            raise BlockedDestination(f"{host} resolves to a link-local or reserved address ({address})")
    return addresses
