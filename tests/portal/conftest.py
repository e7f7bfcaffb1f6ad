"""Fixtures for the queue, Task page and portal tests (shared ones live in tests/conftest.py)."""
