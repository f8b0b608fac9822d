"""`python -m monitors COMMAND`: the checks from the command line (drift and profile today).

Each check registers its own sub-commands; this module only builds the parser and exits with the
command's code. It must stay free of heavy imports (commands import what they need when they run).
"""

from __future__ import annotations

import sys

from monitors.drift.cli import main

if __name__ == "__main__":
    sys.exit(main())
