"""`python -m digitlens` is the `digitlens` command."""

import sys

from .cli.main import main

sys.exit(main())
