"""``python -m galzoo_tools.cli``: the ``galzoo`` command (as ``torchrun ... -m galzoo_tools.cli`` runs it)."""

import sys

from . import main

sys.exit(main())
