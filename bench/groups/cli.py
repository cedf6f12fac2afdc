"""Everyday commands: `jssh --help`, one Tab completion, `jssh add` to a big config."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from harness import BenchError, Case, Group
from world import NAME, Lab

from lab import Laptop, Result, run


class JsshCommand(Case):
    """`jssh ARGS` with an optional extra environment (for the completion call)."""

    def __init__(
        self,
        runs: int,
        laptop: Laptop,
        label: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        note: str = "",
        check: Callable[[Result], bool] | None = None,
    ) -> None:
        self.label = label
        self.note = note
        super().__init__(runs)
        self.laptop = laptop
        self.args = list(args)
        self.env = {**laptop.env, **(env or {})}
        self.check = check

    def measure(self) -> float:
        result = run(self.laptop.jssh_argv(*self.args), env=self.env, timeout=60)
        if not result.ok or (self.check and not self.check(result)):
            raise BenchError(f"unexpected result: {result}")
        return result.duration


class BarePython(Case):
    """The floor of every jssh call: the interpreter starting and stopping."""

    label = "bare `python3 -c pass` (the baseline for a Tab)"
    note = "goal: one Tab within 2x this, measured in the same run"

    def measure(self) -> float:
        result = run([sys.executable, "-c", "pass"], timeout=30)
        if not result.ok:
            raise BenchError(f"python failed: {result}")
        return result.duration


class AddToBigConfig(Case):
    label = "`jssh add` with a user config of 1,000 hosts"
    note = "a fresh add each run, removed again untimed"

    def __init__(self, runs: int, lab: Lab, hosts: int = 1000) -> None:
        super().__init__(runs)
        self.laptop = lab.laptop()
        self.hosts = hosts

    def setup(self) -> None:
        blocks = [
            f"\nHost node{i:04d} node{i:04d}.cluster.example.org\n"
            f"    HostName 10.{i // 250}.{i % 250}.{(i * 7) % 250 + 1}\n"
            f"    User user{i % 17}\n"
            f"    Port {2200 + i % 50}\n"
            for i in range(self.hosts)
        ]
        text = self.laptop.ssh_config.read_text()
        # Before the `Host *` block, as a user's config usually grows.
        head, star, tail = text.partition("\n# Defaults for everything else.")
        self.laptop.ssh_config.write_text(head + "".join(blocks) + star + tail)
        count = self.laptop.ssh_config.read_text().count("\nHost ")
        self.row.note += f"; the user config has {count} Host blocks"

    def reset(self) -> None:
        self.laptop.jssh_process("remove", NAME, timeout=60)

    def measure(self) -> float:
        result = self.laptop.jssh_process("add", "workstation", "--name", NAME, timeout=30)
        if not result.ok or "added" not in result.stdout:
            raise BenchError(f"jssh add failed: {result}")
        return result.duration


def cli_group(lab: Lab, laptop: Laptop, runs: int) -> Group:
    completion = {
        "_JSSH_COMPLETE": "complete_bash",
        "COMP_WORDS": f"jssh up {NAME[:2]}",
        "COMP_CWORD": "2",
    }
    command_tab = {"_JSSH_COMPLETE": "complete_bash", "COMP_WORDS": "jssh st", "COMP_CWORD": "1"}
    return Group(
        "Everyday commands",
        [
            BarePython(runs),
            JsshCommand(runs, laptop, "`jssh --help`", ["--help"]),
            JsshCommand(
                runs,
                laptop,
                "one Tab completion of a command (`jssh st<Tab>`)",
                [],
                env=command_tab,
                note="answered before typer loads (jssh.tab)",
                check=lambda r: "status" in r.stdout,
            ),
            JsshCommand(
                runs,
                laptop,
                "one Tab completion (`jssh up be<Tab>`)",
                [],
                env=completion,
                note="what bash runs at each Tab; answered before typer loads",
                check=lambda r: NAME in r.stdout,
            ),
            AddToBigConfig(max(3, runs // 2), lab),
        ],
    )
