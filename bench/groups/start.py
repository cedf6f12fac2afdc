"""Starting Jupyter: a cold `jssh up` against the peers (hand recipe, jupyter-forward),
then a warm one against one multiplexed round trip and jssh's start-up floor."""

from __future__ import annotations

from harness import BenchError, Case, Group, Row, checked
from peers import HandRecipe, JupyterForward
from world import NAME, Lab

from groups.cli import JsshCommand
from lab import Laptop, free_port

# -- cold start: nothing running ----------------------------------------------------------


class ColdJssh(Case):
    label = "cold `jssh up` (no master, no server)"
    note = "until jssh exits with the URL; it has checked HTTP 200 itself"

    def __init__(self, runs: int, lab: Lab) -> None:
        super().__init__(runs)
        self.lab = lab
        self.laptop = lab.laptop()

    def setup(self) -> None:
        port = free_port()
        args = ["add", "workstation", "--name", NAME, "--local-port", str(port)]
        checked(self.laptop.jssh_process(*args, timeout=120))

    def reset(self) -> None:
        checked(self.laptop.jssh_process("down", NAME, timeout=120))
        self.lab.kill_remote()

    def measure(self) -> float:
        result = checked(
            self.laptop.jssh_process("up", NAME, "--no-open", timeout=180), "jssh up failed"
        )
        if "started Jupyter" not in result.stderr:
            raise BenchError(f"jssh up was not cold (it reused a server): {result}")
        return result.duration

    def teardown(self) -> None:
        self.laptop.jssh_process("down", NAME, timeout=60)


def cold_group(lab: Lab, runs: int, peer_runs: int, peers: bool) -> Group:
    cases: list[Case] = [ColdJssh(runs, lab), HandRecipe(runs, lab)]
    pending: list[Row] = []
    if peers:
        cases.append(JupyterForward(peer_runs, lab))
    else:
        pending.append(Row(JupyterForward.label, 0, missing="skipped (--no-peers)"))
    return Group("Cold start: nothing running on either side", cases, pending)


# -- warm: everything running -------------------------------------------------------------


class WarmJssh(Case):
    label = "warm `jssh up` (master and server running)"
    note = "the whole call, Python start-up included"

    def __init__(self, runs: int, laptop: Laptop) -> None:
        super().__init__(runs)
        self.laptop = laptop

    def setup(self) -> None:
        checked(self.laptop.jssh_process("up", NAME, "--no-open", timeout=180), "jssh up failed")

    def measure(self) -> float:
        result = self.laptop.jssh_process("up", NAME, "--no-open", timeout=60)
        if not result.ok or "reusing" not in result.stderr:
            raise BenchError(f"warm jssh up did not reuse the server: {result}")
        return result.duration


class MuxTrue(Case):
    label = f"`ssh {NAME}-jupyter true` (multiplexed)"
    note = "one round trip through the running master"

    def __init__(self, runs: int, laptop: Laptop) -> None:
        super().__init__(runs)
        self.laptop = laptop

    def measure(self) -> float:
        return checked(self.laptop.ssh(f"{NAME}-jupyter", "true", timeout=120)).duration


def warm_group(laptop: Laptop, runs: int) -> Group:
    return Group(
        "Warm: master and server running",
        [
            WarmJssh(runs, laptop),
            MuxTrue(runs, laptop),
            JsshCommand(
                runs,
                laptop,
                "`jssh --version` (start-up floor)",
                ["--version"],
                note="Python + typer (+ pydantic) and jssh's imports",
            ),
        ],
    )
