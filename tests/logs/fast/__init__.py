"""Tests of caffemem.logs.fast (a package, so that pytest puts tests/logs, with log_helpers.py, on the path)."""
