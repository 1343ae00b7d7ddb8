"""``python -m hpsearch``: the command line (:mod:`hpsearch.cli`)."""

import sys

from hpsearch.cli import main

sys.exit(main())
