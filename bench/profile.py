#!/usr/bin/env python3
"""Where the time of a `jssh up` goes, against the lab's real sshd.

    python3 bench/profile.py [--pyinstrument]

Starts the lab workstation and a laptop, then shows for a cold and a warm `jssh up`
and one Tab completion:
  - a timeline of `jssh -v up`: each ssh command jssh runs, at the moment it starts;
  - the slowest imports (`python -X importtime`), cumulative;
  - with --pyinstrument (pip install pyinstrument), its call-tree report.
Nothing is written; this is for reading. bench/run.py gives the figures.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from lab import LabKeys, Laptop, Sshd, ensure_lab_account, ensure_lab_venv, free_port  # noqa: E402

NAME = "bench"


def timeline(laptop: Laptop, *args: str) -> None:
    """Run `jssh -v ARGS`, printing each stderr line with the time it arrived."""
    start = time.monotonic()
    proc = subprocess.Popen(
        laptop.jssh_argv("-v", *args),
        env=laptop.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        print(f"  {time.monotonic() - start:7.3f} s  {line.rstrip()[:150]}")
    proc.wait()
    print(f"  {time.monotonic() - start:7.3f} s  exit {proc.returncode}")


def importtime(
    laptop: Laptop, *args: str, env: dict[str, str] | None = None, top: int = 12
) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jssh", *args],
        env={**laptop.env, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(3)) <= 3:  # top-level and direct children
            rows.append((int(match.group(2)), match.group(4)))
    total = sum(int(m.group(1)) for m in re.finditer(r"import time:\s+(\d+) \|", done.stderr))
    print(f"  all imports: {total / 1000:.0f} ms (self times summed)")
    for micros, name in sorted(rows, reverse=True)[:top]:
        print(f"  {micros / 1000:7.1f} ms  {name}")


def pyinstrument(laptop: Laptop, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "pyinstrument", "-m", "jssh", *args],
        env={**laptop.env, **(env or {})},
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyinstrument", action="store_true", help="also show pyinstrument")
    options = parser.parse_args()
    keys = LabKeys.create()
    ws = Sshd(account=ensure_lab_account(), venv=ensure_lab_venv(), keys=keys).start()
    laptop = Laptop(workstation=ws, keys=keys)
    try:
        port = str(free_port())
        subprocess.run(
            laptop.jssh_argv("add", "workstation", "--name", NAME, "--local-port", port),
            env=laptop.env,
            check=True,
            capture_output=True,
        )
        up = ("up", NAME, "--no-open")
        completion = {
            "_JSSH_COMPLETE": "complete_bash",
            "COMP_WORDS": "jssh up be",
            "COMP_CWORD": "2",
        }
        print("\n== cold `jssh -v up` (nothing running)")
        timeline(laptop, *up)
        print("\n== warm `jssh -v up`")
        timeline(laptop, *up)
        print("\n== imports of a warm `jssh up`")
        importtime(laptop, *up)
        print("\n== imports of `jssh --version`")
        importtime(laptop, "--version")
        print("\n== imports of one completion call (`jssh up be<Tab>`)")
        importtime(laptop, env=completion)
        if options.pyinstrument:
            print("\n== pyinstrument: warm `jssh up`")
            pyinstrument(laptop, *up)
            print("\n== pyinstrument: one completion call")
            pyinstrument(laptop, env=completion)
            subprocess.run(laptop.jssh_argv("down", NAME), env=laptop.env, capture_output=True)
            ws.kill_remote_processes()
            print("\n== pyinstrument: cold `jssh up`")
            pyinstrument(laptop, *up)
    finally:
        subprocess.run(laptop.jssh_argv("down", NAME), env=laptop.env, capture_output=True)
        laptop.close()
        ws.close()
        keys.remove()


if __name__ == "__main__":
    main()
