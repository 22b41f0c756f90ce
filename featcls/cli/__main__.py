"""``python -m featcls.cli``: the ``featcls`` command."""

import sys

from featcls.cli import main

sys.exit(main())
