"""Records and signing: log-in and session, the record strip and panel, saving, signing (blind
verification), corrections, the history and accounts. The controller talks to the window through
:class:`~doseprep_ui.records.port.WindowPort`."""
