"""Documents on screen and to the printer: the print preview and PDF pages."""
