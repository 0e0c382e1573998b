"""Fixtures shared by the integration tests (the Kafka broker is in tests/conftest.py, shared
with the end-to-end tests)."""
