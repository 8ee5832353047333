"""Start doseprep's window from a checkout: ``python main.py`` (``--help`` for the options).

The installed program is ``doseprep-gui``; both call :func:`doseprep_ui.app.main`.
"""

import sys

from doseprep_ui.app import main

if __name__ == "__main__":
    sys.exit(main())
