"""The gate's service tests run through the `world` fixture of tests/checks: the real composition root on the
session emulator (scenarios/test_minimal.yaml) and Azurite."""

from tests.checks.conftest import world as world
