"""Prove that a local port is this host's own tunnel before the token goes to it.

The token opens a shell on the workstation (Jupyter's terminals), and 127.0.0.1 is
shared by every local account: whenever the master is gone (after `down
--keep-server`, a crash, a reboot), anyone may listen on the port. So no request that
carries the token is sent until the kernel has confirmed that the process listening
on 127.0.0.1:PORT is the master behind NAME's ControlPath. Both facts come without
an ssh round trip: the master's pid from its control socket, the listener from /proc.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from jssh import ports, watchstatus
from jssh.errors import BusyError
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.ssh import mux


class ForeignListener(BusyError):
    """Someone other than our master listens on the tunnel's local port."""


@dataclass(frozen=True)
class TunnelOwner:
    """The master that must hold `port`: the one behind `control_path`."""

    name: str  # the managed host's NAME, for messages
    port: int
    control_path: str
    fix: str  # how to move jssh to another port, for the hint
    # Where our watchdog's pid file is: it holds the port while it replaces the master.
    paths: Paths | None = None

    @classmethod
    def of(cls, record: HostRecord, paths: Paths | None = None) -> TunnelOwner:
        """Who must hold RECORD's local port before its token may go there (with PATHS,
        our watchdog's bridge counts too)."""
        return cls(
            name=record.name,
            port=record.local_port,
            control_path=record.tunnel_control_path,
            fix=f"`jssh add {record.target} --name {record.name} --local-port N`",
            paths=paths,
        )

    def proven(self) -> bool:
        """True when our master holds the port now; False when nobody can be proven to
        (no listener, or the master does not answer): send nothing, treat as no answer.
        Raises ForeignListener when another process holds it."""
        pid = mux.master_pid(self.control_path)
        if self._holds(pid):
            return True
        if self.watchdog_holds():
            return True
        if pid is mux.MasterAnswer.SILENT or ports.is_free(self.port):
            return False
        holder = ports.who_holds(self.port)
        who = holder.describe() if holder else "a process jssh can't see"
        raise ForeignListener(
            f"local port {self.port} is held by {who}, not by {self.name}'s tunnel;"
            " jssh sent it nothing",
            hint=f"stop that program, or move jssh to another port: {self.fix}",
        )

    def bridged(self) -> bool:
        """The watchdog holds the port while no master of ours listens there: it is
        bringing the tunnel back (a request sent now waits until it is back)."""
        return not self._holds(mux.master_pid(self.control_path)) and self.watchdog_holds()

    def _holds(self, master: int | mux.MasterAnswer) -> bool:
        """MASTER (what its control socket said) is a master listening on the port."""
        return isinstance(master, int) and ports.listens_on(master, self.port)

    def watchdog_holds(self) -> bool:
        """Our watchdog holds the port: its bridge, while it replaces the master
        (watchdog/relay.py), relays only to the new master's forward. Its pid comes from
        its pid file in our 0700 state dir, held under its flock; it must run as us and
        hold the very listener on the port."""
        if self.paths is None:
            return False
        pid = watchstatus.running_pid(self.paths)
        if pid is None or pid <= 0:
            return False
        try:
            if os.stat(f"/proc/{pid}").st_uid != os.getuid():
                return False
        except OSError:
            pass  # no /proc (macOS): listens_on asks psutil about that one process of ours
        return ports.listens_on(pid, self.port)
