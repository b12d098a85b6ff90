"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Fixtures are in conftest.py. Every test here is marked `browser`: `pytest -m "not browser"` skips
them all.
"""
