"""The quota and cost checks' tests use the checks layer's `world`: the real composition root on the session
emulator (scenarios/test_minimal.yaml, manual clock) and Azurite. Helpers are in helpers.py."""

from tests.checks.conftest import world  # noqa: F401
