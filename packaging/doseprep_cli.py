"""The bundle's command line, ``doseprep`` (as the installed console script)."""

import sys

from doseprep.cli import main

if __name__ == "__main__":
    sys.exit(main())
