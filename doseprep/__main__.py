"""``python -m doseprep`` runs the command line, the same as the ``doseprep`` script."""

import sys

from doseprep.cli import main

sys.exit(main())
