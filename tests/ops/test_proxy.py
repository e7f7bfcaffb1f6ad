"""Behind a reverse proxy (PROCLY_PROXY_COUNT=1) the portal's rate limit counts per real client (the
proxy's X-Forwarded-For), not one bucket for everyone; without it the header is not trusted at all."""
from __future__ import annotations

import urllib.error
import urllib.request
import uuid


def _status(url: str, client_ip: str) -> int:
    req = urllib.request.Request(url, headers={"X-Forwarded-For": client_ip, "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _ips(n: int) -> list[str]:
    seed = uuid.uuid4().int
    return [f"198.51.{(seed >> (8 * i)) % 250}.{i + 1}" for i in range(n)]


def test_portal_rate_limit_is_per_real_client_behind_a_proxy(live_app):
    base = live_app(PROXY_COUNT=1)
    link = f"{base}/portal/t/not-a-real-link-{uuid.uuid4().hex}"
    first, second = _ips(2)
    statuses = [_status(link, first) for _ in range(10)]
    assert statuses == [404] * 10                     # 10 a minute allowed per client
    assert _status(link, first) == 429                # the 11th from that client is refused
    assert _status(link, second) == 404               # another client behind the same proxy is not


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(live_app):
    base = live_app(PROXY_COUNT=0)
    link = f"{base}/portal/t/not-a-real-link-{uuid.uuid4().hex}"
    ips = _ips(11)
    statuses = [_status(link, ip) for ip in ips]      # a client making up a new address each time
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
