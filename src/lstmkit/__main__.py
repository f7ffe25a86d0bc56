"""``python -m lstmkit``: the console script (:func:`lstmkit.cli.entry`); a Ctrl-C while the command
line's module is imported ends it as one later does (``lstmkit: interrupted``, exit 130)."""

import sys

try:
    from .cli import entry
except KeyboardInterrupt:
    print("lstmkit: interrupted", file=sys.stderr)
    sys.exit(130)

entry()
