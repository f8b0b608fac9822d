"""The checks: pure decisions over plain data. No Azure SDK import, no I/O."""
