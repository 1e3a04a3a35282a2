"""``python -m derive``: the command line of :mod:`derive.cli`."""
import sys

from .cli import main

sys.exit(main())
