"""Shared widgets: the style, icons, the banner, message boxes and the action dialog."""
