"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

from quiz_engine import create_app

app = create_app()
