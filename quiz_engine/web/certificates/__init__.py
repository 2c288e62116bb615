"""Certificates: the printable certificate and the public verification pages."""

from quiz_engine.web.certificates.views import bp

__all__ = ["bp"]
