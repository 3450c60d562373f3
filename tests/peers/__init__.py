"""Fixtures that start real servers for the tests (see tests/peers/common.py)."""
