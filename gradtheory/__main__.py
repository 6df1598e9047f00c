"""``python -m gradtheory``: the same as the ``gradtheory`` command."""

import sys

from .cli import main

sys.exit(main())
