"""The window's freeze mode (cycle 2)."""
