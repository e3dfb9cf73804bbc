"""Helpers shared by the integration tests: real members acting on a real homeserver."""
