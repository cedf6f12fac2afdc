"""A workstation behind a real network link (netns + veth) that can be cut. Root only."""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil

from .procs import new_lab_id, terminate
from .sshd import Sshd
from .util import IS_ROOT, LabError, run, wait_until

__all__ = ["LAB_RANGE", "NetnsUnavailable", "NetnsWorkstation", "ensure_blackhole_route"]

# RFC 2544's benchmarking range: never routed on the internet, and here
# blackholed on the host so nothing for it can leave the machine.
LAB_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
_SUBNETS = LAB_RANGE.num_addresses // 4  # one /30 per workstation

_LOCK_PATH = "/run/jssh-lab-netns.lock"
_counter = 0


class NetnsUnavailable(LabError):
    """This machine cannot give us a network namespace (not root, or no CAP_SYS_ADMIN)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise LabError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def ensure_blackhole_route() -> None:
    """Add `blackhole 198.18.0.0/15` in the host namespace if no route for it exists.

    Left in place afterwards on purpose: an ssh still retrying after its veth
    is gone must hit the blackhole, not the default route off the machine.
    """
    if _ip("route", "show", "exact", str(LAB_RANGE)).stdout.strip():
        return
    added = _ip("route", "add", "blackhole", str(LAB_RANGE), check=False)
    if added.returncode != 0 and not _ip("route", "show", "exact", str(LAB_RANGE)).stdout.strip():
        raise NetnsUnavailable(
            f"cannot add blackhole route for {LAB_RANGE}: {added.stderr.strip()}"
        )


def link_flags(dev: str) -> list[str] | None:
    """The flags of interface DEV in our network namespace (LOWER_UP: it has a carrier),
    or None when there is no such interface.

    From `ip`, not /sys/class/net: sysfs shows the namespace it was mounted in, which
    is not ours when the test process runs in a namespace of its own (lab/worker.py).
    """
    done = _ip("-j", "link", "show", "dev", dev, check=False)
    if done.returncode != 0:
        return None
    links: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return [str(flag) for link in links for flag in link.get("flags", [])]


@contextmanager
def _allocation_lock() -> Iterator[None]:
    # Two pytest runs at once must not pick the same /30 or names.
    with open(_LOCK_PATH, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _used_lab_networks() -> set[ipaddress.IPv4Network]:
    used: set[ipaddress.IPv4Network] = set()
    addrs: list[dict[str, Any]] = json.loads(_ip("-j", "-4", "addr", "show").stdout or "[]")
    for link in addrs:
        for info in link.get("addr_info", []):
            net = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}").network
            if isinstance(net, ipaddress.IPv4Network) and net.overlaps(LAB_RANGE):
                used.add(ipaddress.IPv4Network(f"{net.network_address}/30", strict=False))
    return used


def _pick_subnet() -> ipaddress.IPv4Network:
    """A /30 of the lab range that no interface in the host namespace uses.

    Starts from a point derived from our pid and a counter so parallel runs
    rarely even collide; the check under the lock settles it when they do.
    """
    global _counter
    _counter += 1
    used = _used_lab_networks()
    start = (os.getpid() * 131 + _counter) % _SUBNETS
    base = int(LAB_RANGE.network_address)
    for i in range(_SUBNETS):
        index = (start + i) % _SUBNETS
        net = ipaddress.IPv4Network((base + 4 * index, 30))
        if net not in used:
            return net
    raise LabError(f"every /30 of {LAB_RANGE} is in use")


class NetnsWorkstation(Sshd):
    """An sshd inside its own network namespace, reached over a veth pair.

    Host side `jlh<hex>` holds .1 of a /30 from 198.18.0.0/15, namespace side
    `jln<hex>` holds .2, where sshd listens on port 22. cut() downs the
    namespace end (downing the host end would delete the host's route, and
    packets would then follow the default route off the machine).
    """

    def __init__(self, **kwargs: Any) -> None:
        if not IS_ROOT:
            raise NetnsUnavailable("network namespaces need root")
        lab_id = kwargs.pop("lab_id", None) or new_lab_id("ws")
        short = lab_id.split("-")[-1][:8]
        self.netns = f"jl{short}"
        self.host_dev = f"jlh{short}"  # interface names: at most 15 chars
        self.ns_dev = f"jln{short}"
        self._ns_created = False
        ensure_blackhole_route()
        try:
            with _allocation_lock():
                self.subnet = _pick_subnet()
                self.host_addr = str(self.subnet.network_address + 1)
                self.ns_addr = str(self.subnet.network_address + 2)
                self._create_network()
            super().__init__(
                host=self.ns_addr, port=kwargs.pop("port", 22), lab_id=lab_id, **kwargs
            )
        except BaseException:
            self._delete_network()
            raise

    def _create_network(self) -> None:
        added = _ip("netns", "add", self.netns, check=False)
        if added.returncode != 0:
            raise NetnsUnavailable(f"ip netns add {self.netns} failed: {added.stderr.strip()}")
        self._ns_created = True
        prefix = str(self.subnet.prefixlen)
        _ip(
            "link",
            "add",
            self.host_dev,
            "type",
            "veth",
            "peer",
            "name",
            self.ns_dev,
            "netns",
            self.netns,
        )
        _ip("addr", "add", f"{self.host_addr}/{prefix}", "dev", self.host_dev)
        _ip("link", "set", self.host_dev, "up")
        _ip("-n", self.netns, "addr", "add", f"{self.ns_addr}/{prefix}", "dev", self.ns_dev)
        _ip("-n", self.netns, "link", "set", self.ns_dev, "up")
        # Jupyter on the workstation listens on its own 127.0.0.1.
        _ip("-n", self.netns, "link", "set", "lo", "up")
        self._wait_carrier()

    def _wait_carrier(self) -> None:
        wait_until(
            lambda: "LOWER_UP" in (link_flags(self.host_dev) or []),
            timeout=5,
            what=f"carrier on {self.host_dev}",
        )

    @property
    def host_link_exists(self) -> bool:
        """True while the host end of the veth pair exists."""
        return link_flags(self.host_dev) is not None

    def _exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *super()._exec_prefix()]

    def cut(self) -> None:
        """Pull the cable, on the namespace side. Established TCP stays open, silently."""
        run(
            ["ip", "netns", "exec", self.netns, "ip", "link", "set", self.ns_dev, "down"],
            check=True,
        )

    def restore(self, *, wait_reachable: bool = True, timeout: float = 10.0) -> None:
        """Plug the cable back in.

        With wait_reachable (the default) it returns only once a TCP connect to
        sshd succeeds from the host, so "restored" means usable: a connect
        attempted during the cut leaves an ARP entry that fails a moment after
        the link is back (EHOSTUNREACH, "No route to host", seen here ~50 ms
        after restore), real kernel behaviour that would otherwise make
        recovery timings noisy. Pass False to see exactly that.
        """
        run(["ip", "netns", "exec", self.netns, "ip", "link", "set", self.ns_dev, "up"], check=True)
        self._wait_carrier()
        if wait_reachable:
            wait_until(
                self._reachable,
                timeout=timeout,
                what=f"{self.host}:{self.port} reachable after restore",
            )

    def _reachable(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def namespace_processes(self) -> list[psutil.Process]:
        """Every process inside our namespace (all of them ours: we made it)."""
        done = _ip("netns", "pids", self.netns, check=False)
        procs = []
        for word in done.stdout.split():
            try:
                procs.append(psutil.Process(int(word)))
            except (ValueError, psutil.NoSuchProcess):
                continue
        return procs

    def connection_processes(self) -> list[psutil.Process]:
        # psutil.net_connections() only sees the host namespace's sockets; in
        # ours every sshd but the listener serves a connection.
        listener = self.listener_pid
        out = []
        for proc in self.namespace_processes():
            try:
                if proc.pid != listener and proc.name() == "sshd":
                    out.append(proc)
            except psutil.NoSuchProcess:
                continue
        return out

    def _teardown_extra(self) -> None:
        terminate(self.namespace_processes())
        self._delete_network()

    def _delete_network(self) -> None:
        if self._ns_created:
            _ip("netns", "del", self.netns, check=False)
            self._ns_created = False
        # Deleting the namespace takes its veth end and so the pair with it;
        # the host end is deleted by hand in case it was left behind.
        if self.host_link_exists:
            _ip("link", "del", self.host_dev, check=False)


class SecondLink:
    """A second veth pair from the laptop to a NetnsWorkstation, on a /30 of its own, to
    which the laptop's address can move (wifi to cable): issue 13's network change.

    The workstation's sshd keeps its address on the first link; after the move the
    laptop reaches it through the second (a /32 route over the second pair, on an
    interface the test made). The laptop's old address is deleted, so every TCP
    connection that used it is dead, and nothing tells its process. Deleting the
    namespace at teardown takes this pair, and its route, with it.
    """

    def __init__(self, ws: NetnsWorkstation) -> None:
        self.ws = ws
        short = ws.netns[2:]
        self.host_dev, self.ns_dev = f"jlk{short}", f"jlm{short}"
        with _allocation_lock():
            self.subnet = _pick_subnet()
            self.host_addr = str(self.subnet.network_address + 1)
            self.ns_addr = str(self.subnet.network_address + 2)
            _ip("link", "add", self.host_dev, "type", "veth",
                "peer", "name", self.ns_dev, "netns", ws.netns)  # fmt: skip
            prefix = f"/{self.subnet.prefixlen}"
            _ip("-n", ws.netns, "addr", "add", self.ns_addr + prefix, "dev", self.ns_dev)
            _ip("-n", ws.netns, "link", "set", self.ns_dev, "up")
            _ip("link", "set", self.host_dev, "up")
        wait_until(
            lambda: "LOWER_UP" in (link_flags(self.host_dev) or []),
            timeout=5,
            what=f"carrier on {self.host_dev}",
        )

    def move_laptop(self) -> None:
        """Delete the laptop's address on the first link, add one on this one, and route
        the workstation's address over it: three `ip` calls, as a network manager
        makes them."""
        ws = self.ws
        _ip("addr", "del", f"{ws.host_addr}/{ws.subnet.prefixlen}", "dev", ws.host_dev)
        _ip("addr", "add", f"{self.host_addr}/{self.subnet.prefixlen}", "dev", self.host_dev)
        _ip("route", "add", f"{ws.ns_addr}/32", "via", self.ns_addr, "dev", self.host_dev)

    def route_back_over_first(self) -> None:
        """The laptop's first address comes back, then the route to the workstation
        goes back over the first link (the /32 over this one deleted): a route change,
        while this link's address stays (as when a preferred network returns)."""
        ws = self.ws
        _ip("addr", "add", f"{ws.host_addr}/{ws.subnet.prefixlen}", "dev", ws.host_dev)
        _ip("route", "del", f"{ws.ns_addr}/32", "via", self.ns_addr, "dev", self.host_dev)
