"""`jssh forward NAME SPEC` / `--remove`, and the forwards of `jssh add --forward`.

A forward is saved with its host (hosts.json, then the block's LocalForward line) and,
when the host's master runs, given to it at once or taken off it, that forward alone
(jssh.session.forwards): no reconnect, Jupyter's own forward untouched. The save and
the live change happen under the store's lock, and a live change that fails saves
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from jssh import ports
from jssh.commands.checks import Check, ok, problem
from jssh.config.store import Store
from jssh.errors import UsageError
from jssh.forwards import FIRST_SOCKET_FORWARD_PORT, Forward, ForwardSpec, find, parse_spec
from jssh.hosts import HostRecord, Registry
from jssh.paths import Paths
from jssh.session import forwards as live
from jssh.ssh import Ssh


@dataclass(frozen=True)
class ForwardChange:
    """What `jssh forward` did: the forward, and whether the running master has it now."""

    record: HostRecord
    forward: Forward
    changed: bool  # False: the host already had it (add) / nothing to do
    live: bool  # a running master got (or lost) it just now


def ports_in_use(registry: Registry, *, besides: str | None = None) -> set[int]:
    """The local ports every managed host but BESIDES claims: Jupyter's and its forwards'."""
    used: set[int] = set()
    for name, record in registry.hosts.items():
        if name != besides:
            used.add(record.local_port)
            used.update(f.local_port for f in record.forwards)
    return used


def assign(
    record: HostRecord, specs: list[ForwardSpec], others: set[int], keep: list[Forward]
) -> list[Forward]:
    """A Forward for each spec: the one in KEEP with the same remote side, else a new one on
    the port given (refused when taken), else the remote port or the next free one.
    OTHERS: the local ports other hosts claim."""
    chosen: list[Forward] = []
    for spec in specs:
        claimed = others | {record.local_port} | {f.local_port for f in chosen}
        kept = [f for f in keep if f.same_remote(spec) and spec.local_port in (None, f.local_port)]
        if kept and kept[0].local_port not in claimed:
            chosen.append(kept[0])
            continue
        chosen.append(_new(record, spec, claimed))
    return chosen


def _new(record: HostRecord, spec: ForwardSpec, claimed: set[int]) -> Forward:
    if spec.local_port is not None:
        if spec.local_port in claimed:
            raise UsageError(
                f"local port {spec.local_port} is already used by {record.name}'s Jupyter, by"
                " another of its forwards or by another managed host",
                hint="see `jssh list` and `jssh show NAME`, and pick another local port",
            )
        forward = spec.with_local(spec.local_port)
        live.check_free(record, [forward])
        return forward
    start = spec.preferred_local or FIRST_SOCKET_FORWARD_PORT
    return spec.with_local(ports.first_free(start, avoid=claimed))


class Forwarder:
    """The extra forwards of the managed hosts."""

    def __init__(self, paths: Paths, ssh: Ssh) -> None:
        self.paths = paths
        self.ssh = ssh
        self.store = Store(paths)

    def add(self, name: str, text: str) -> ForwardChange:
        """Forward TEXT (`6006`, `16006:6006`, `/path.sock`) for NAME, live when it is up."""
        spec = parse_spec(text, "forward")
        self.store.get(name)  # a clear error for an unknown name, before the lock
        with self.store.transaction() as registry:
            record = registry.hosts[name]
            (forward,) = assign(record, [spec], ports_in_use(registry, besides=name),
                                record.forwards)  # fmt: skip
            if forward in record.forwards:  # already kept: make sure a running master has it
                running = live.add_live(self.ssh, record, forward)
                return ForwardChange(record, forward, changed=False, live=running)
            record = _with(record, [*record.forwards, forward])
            running = live.add_live(self.ssh, record, forward)  # fails: nothing is saved
            registry.hosts[name] = record
        return ForwardChange(record, forward, changed=True, live=running)

    def remove(self, name: str, text: str) -> ForwardChange:
        """Drop NAME's forward that TEXT names, from the running master too."""
        record = self.store.get(name)
        forward = find(record.forwards, text)
        if forward is None:
            have = ", ".join(str(f.local_port) for f in record.forwards) or "none"
            raise UsageError(
                f"{name} has no forward {text!r} (its forwards' local ports: {have})",
                hint=f"`jssh forward {name}` lists them",
            )
        with self.store.transaction() as registry:
            record = _with(registry.hosts[name], [f for f in record.forwards if f != forward])
            registry.hosts[name] = record
        return ForwardChange(record, forward, changed=True, live=live.cancel_live(record, forward))

    def sync(self, old: HostRecord | None, new: HostRecord) -> list[str]:
        """After `jssh add` changed NAME's forwards: the same change on its running master."""
        before = old.forwards if old else []
        if before == new.forwards or self.ssh.master_pid(live.forward_alias(new)) is None:
            return []
        done = []
        for forward in before:
            if forward not in new.forwards and live.cancel_live(new, forward):
                done.append(f"the running tunnel no longer forwards {forward.describe()}")
        for forward in new.forwards:
            if forward not in before and live.add_live(self.ssh, new, forward):
                done.append(f"the running tunnel forwards {forward.describe()} now")
        return done


def _with(record: HostRecord, forwards: list[Forward]) -> HostRecord:
    return replace(record, forwards=forwards)


def port_checks(record: HostRecord, holder: int | None) -> list[Check]:
    """`jssh doctor`: each extra forward's local port is free, or held by the master that
    carries it (HOLDER: the host's own, or a Slurm job node's)."""
    checks = []
    for forward in record.forwards:
        name, port = record.name, forward.local_port
        what = f"127.0.0.1:{port} (forward to {forward.target})"
        if ports.is_free(port) and holder is None:
            checks.append(ok("forward-port", name, f"{what} is free for the tunnel"))
        elif ports.is_free(port):
            checks.append(problem(
                "forward-port", name, f"the master (pid {holder}) runs, but does not listen on"
                f" {what}", f"`jssh up {name}` gives it the forward again",
            ))  # fmt: skip
        elif holder is not None and ports.listens_on(holder, port):
            checks.append(ok("forward-port", name, f"{what} is held by {name}'s tunnel"
                             f" (pid {holder})"))  # fmt: skip
        else:
            busy = live.busy_error(record, forward)
            checks.append(problem("forward-port", name, busy.message, busy.hint))
    return checks
