from __future__ import annotations

import sys

from jssh.entry import main

sys.exit(main())
