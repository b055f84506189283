"""Fixtures the unit tests share: ``hub``, the web pages' app over a real SQLite store."""

from tests.web_support import hub  # noqa: F401 (a fixture, found here by pytest)
