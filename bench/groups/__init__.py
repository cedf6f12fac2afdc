"""The case groups, one module each: start (cold and warm `jssh up`), cli (everyday
commands), watchdog (kill -9; the link cut is in cut), recovery (the server killed, the
laptop's address moved), idle (the watchdog's idle cost).
Each module's `*_group()` builds its Group for harness.run_group."""
