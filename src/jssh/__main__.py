from __future__ import annotations

from jssh.cli import main

main()
