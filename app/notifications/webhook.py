"""Alert webhooks: an RQ job POSTs a small JSON body (ids, type, severity, message; no Field values)."""
from __future__ import annotations

import json
import urllib.request


def post(url: str, payload: dict) -> int:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - http(s) only, checked when queued
        return resp.status
