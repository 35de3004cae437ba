"""Helpers for testing gradlab and code built on it without special hardware (see ``device_array``)."""
