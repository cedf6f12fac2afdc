from __future__ import annotations

import sys

from jssh.cli import main

sys.exit(main())
