"""The Qt desktop shell of doseprep (PySide6): widgets only, no arithmetic."""
