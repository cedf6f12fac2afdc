"""The demo behind scripts/demo: a throwaway workstation, then `jssh add` and `jssh up`.

The workstation is the test lab's: a real sshd on 127.0.0.1 with its own host key, a
login account (`jsshlab` when run as root), JupyterLab in a venv, and a private tmux.
The "laptop" is a temp dir with its own ~/.ssh/config, used through --ssh-config, so
your real ~/.ssh is never touched.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from lab import LabKeys, Laptop, Sshd, ensure_lab_account, ensure_lab_venv


def run(laptop: Laptop, *args: str) -> str:
    print(f"\n$ jssh {shlex.join(args)}", flush=True)
    result = laptop.jssh(*args, timeout=180)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if not result.ok:
        raise SystemExit(f"demo: `jssh {shlex.join(args)}` failed (exit {result.returncode})")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="stop and clean up after the URL")
    options = parser.parse_args()

    keys = LabKeys.create()
    workstation = Sshd(account=ensure_lab_account(), venv=ensure_lab_venv(), keys=keys).start()
    laptop = Laptop(workstation=workstation, keys=keys)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        print(f"demo workstation: {workstation.user}@127.0.0.1:{workstation.port}")
        print(f"demo ssh config:  {laptop.ssh_config}")
        run(laptop, "add", "workstation")
        url = run(laptop, "up", "workstation", "--no-open").strip().splitlines()[-1]
        run(laptop, "status")
        print("\nJupyterLab is up. Open this URL in a browser on this machine:\n")
        print(f"    {url}\n")
        env = f"JSSH_SSH_CONFIG={laptop.ssh_config} JSSH_STATE_DIR={laptop.state_dir}"
        print("Try, in another shell:")
        print(f"    {env} .venv/bin/jssh status")
        print(f"    ssh -F {laptop.ssh_config} workstation-jupyter hostname")
        if options.once:
            return
        print("\nCtrl-C stops Jupyter, closes the tunnel and removes everything.")
        signal.pause()
    except KeyboardInterrupt:
        print()
    finally:
        print("cleaning up ...", flush=True)
        laptop.jssh("down", "workstation", timeout=60)
        laptop.close()
        workstation.close()
        keys.remove()
        print("done: the demo left nothing behind.")


if __name__ == "__main__":
    main()
