"""Security headers on every response, set by flask-talisman: a Content Security Policy with no
inline script (pages load their code from /static; JSON data blocks are not scripts), no framing by
anyone (but the public intake form, `frameable`), nosniff, a same-origin Referrer-Policy. When PROCLY_BASE_URL is https the session cookie is
Secure and HSTS is sent (TLS itself and the http->https redirect are the front proxy's job).
Behind reverse proxies, PROCLY_PROXY_COUNT says how many, so client addresses and the scheme are
read from their X-Forwarded-* headers (werkzeug's ProxyFix) and from nowhere else."""
from __future__ import annotations

from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",  # XHR/fetch and the Socket.IO websocket (same origin, ws: or wss:)
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def is_https(app) -> bool:
    return str(app.config.get("PROCLY_BASE_URL", "")).lower().startswith("https://")


def init_app(app) -> None:
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        # behind N proxies: the real client address and scheme, never a header a client made up
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    https = is_https(app)
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https
    # a response may carry a stricter policy of its own (downloads of stored files: `own_csp`);
    # registered before Talisman, so it runs after Talisman's hook and has the last word
    app.after_request(_own_csp)
    # one Talisman per app: it keeps its settings on itself
    app.extensions["talisman"] = Talisman(
        app,
        force_https=False,
        session_cookie_secure=https,
        strict_transport_security=https,
        strict_transport_security_include_subdomains=False,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
        x_content_type_options=True,
    )


OWN_CSP = "procly_own_csp"


FRAMEABLE = "procly_frameable"


def _own_csp(response):
    own = getattr(response, OWN_CSP, None)
    if own:
        response.headers["Content-Security-Policy"] = own
    if getattr(response, FRAMEABLE, False):   # the one page other sites may embed: no X-Frame-Options
        response.headers.pop("X-Frame-Options", None)
    return response


def frameable(response, ancestors: str = "*"):
    """Let other sites embed this one response in a frame (the public intake form): the app's CSP with
    `frame-ancestors` set to `ancestors` instead of 'none', and no X-Frame-Options. Nothing else eases."""
    policy = {**CSP, "frame-ancestors": ancestors}
    setattr(response, FRAMEABLE, True)
    return own_csp(response, "; ".join(f"{k} {v}" for k, v in policy.items()))


def own_csp(response, policy: str):
    """Give one response its own Content-Security-Policy instead of the app's."""
    setattr(response, OWN_CSP, policy)
    return response
