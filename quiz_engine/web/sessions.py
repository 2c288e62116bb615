"""The session cookie: signed, HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS.

Flask's own setting is all-or-nothing; deriving Secure from the request means a deployment behind
TLS gets it without configuration, while ``make run`` on plain http://127.0.0.1 still works.
Behind a proxy that terminates TLS, set ``PROXY_HOPS`` so the request knows it was HTTPS.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
