"""A network change costs under a second (issue 13, item 2): after an address went or a
route changed, a followed master whose TCP connection lost its path is replaced at
once, instead of waiting ~15 s for ServerAlive. The decision is the state machine's,
driven here with a fake clock; the netlink parsing it is fed by is checked too.
"""

from __future__ import annotations

import socket
import struct

from test_watchdog_machine import Sim, spawned

from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog.netpath import parse_route_reply
from jssh.watchdog.sources import NetworkNews, network_news
from jssh.watchdog.states import HostState, Master

OLD, NEW, PEER = "198.18.0.1", "198.18.0.5", "198.18.0.2"
PATH = ev.TcpPath(local=OLD, peer=PEER)
WIFI, CABLE = ev.Route(dev=5, source=OLD), ev.Route(dev=6, source=NEW)
PEER_ADDRESS = (socket.AF_INET, (PEER, 22))


def followed(path: ev.TcpPath | None = PATH, route: ev.Route | None = WIFI) -> Sim:
    """A host whose master pid 100 is followed, connected over PATH."""
    sim = Sim()
    sim.start(master=100)
    sim.send(ev.PeerFound(PEER_ADDRESS, path, route))
    return sim


def looked(addresses: set[str], route: ev.Route | None, pid: int = 100) -> ev.PathLooked:
    return ev.PathLooked(pid, frozenset(addresses | {"127.0.0.1"}), route)


def test_a_master_whose_local_address_went_is_replaced_at_once() -> None:
    sim = followed()
    sim.now += 10
    effects = sim.send(looked({NEW}, CABLE))
    kill = next(e for e in effects if isinstance(e, fx.KillMaster))
    assert kill.pid == 100
    sim.send(ev.MasterKilled(kill.ticket))
    assert spawned(sim.effects) == [Master.FORWARD]  # no backoff: a new master now
    sim.now += 0.3
    sim.attempt_ends(0)
    sim.master_found(200)
    assert sim.state is HostState.CONNECTED
    assert sim.lines()[1:] == [
        f"the network changed: its local address {OLD} is gone; replacing master pid 100 now",
        "master pid 100 lost its network path (its connection is dead, though ssh cannot"
        " tell yet); killed it; respawning now",
        "respawned: master pid 200; following it; forward 127.0.0.1:8899 back after 0.3 s",
    ]


def test_a_master_whose_route_now_leaves_through_another_interface_is_replaced() -> None:
    # A new default route (a cable plugged in, the wifi address still there): packets
    # to the peer leave through the cable, and its answers to the old address are lost.
    sim = followed()
    sim.send(looked({OLD, NEW}, CABLE))
    assert sim.state is HostState.KILLING
    assert f"now leaves through another interface, from {NEW}, not {OLD}" in sim.lines()[-1]
    sim = followed()
    sim.send(looked({OLD}, ev.Route(dev=9, source=OLD)))  # even with the same source
    assert sim.state is HostState.KILLING


def test_a_new_source_on_the_same_interface_costs_nothing() -> None:
    # An IPv6 temporary address (or a second lease) appears on the same link: new
    # connections would start from it, but the old address still works there.
    sim = followed()
    assert sim.send(looked({OLD, NEW}, ev.Route(dev=WIFI.dev, source=NEW))) == []
    assert sim.state is HostState.CONNECTED


def test_without_the_route_of_when_it_was_followed_the_source_decides() -> None:
    sim = followed(route=None)
    assert sim.send(looked({OLD, NEW}, WIFI)) == []
    sim.send(looked({OLD, NEW}, CABLE))
    assert sim.state is HostState.KILLING


def test_a_master_with_no_route_to_its_peer_now_is_replaced() -> None:
    sim = followed()
    sim.send(looked({OLD}, None))
    assert sim.state is HostState.KILLING
    assert f"no route to {PEER}" in sim.lines()[-1]


def test_a_change_that_leaves_the_path_as_it_was_costs_nothing() -> None:
    # Another interface came or went (a VPN, a container's bridge): this master's own
    # address and route stand, so it keeps its connection and the browser its page.
    sim = followed()
    assert sim.send(looked({OLD, NEW}, WIFI)) == []
    assert sim.state is HostState.CONNECTED
    assert sim.host.master_pid == 100


def test_a_master_without_a_tcp_connection_of_its_own_is_not_judged() -> None:
    # Through a ProxyJump the master talks to a pipe: nothing to check its path by.
    sim = followed(path=None, route=None)
    assert sim.send(looked(set(), None)) == []
    assert sim.state is HostState.CONNECTED


def test_a_look_at_a_master_no_longer_followed_is_ignored() -> None:
    sim = followed()
    assert sim.send(looked({NEW}, CABLE, pid=99)) == []  # an older master's
    sim.send(ev.MasterExited(100))  # and once the master is gone, so is its path
    assert sim.host.path is None
    assert sim.send(looked({NEW}, CABLE)) == []


def test_a_host_brought_down_is_not_respawned_for_a_lost_path() -> None:
    sim = followed()
    assert sim.send(looked({NEW}, CABLE), wanted=False) == []


def test_a_new_master_is_judged_by_its_own_path() -> None:
    sim = followed()
    sim.send(looked({NEW}, CABLE))
    sim.send(ev.MasterKilled(sim.last(fx.KillMaster).ticket))
    sim.attempt_ends(0)
    sim.master_found(200)
    sim.send(ev.PeerFound(PEER_ADDRESS, ev.TcpPath(NEW, PEER), CABLE))
    assert sim.send(looked({NEW}, CABLE, pid=200)) == []
    assert sim.state is HostState.CONNECTED


# -- the kernel's messages --------------------------------------------------------------------
def _rtnl(kind: int, flags: int = 0) -> bytes:
    body = struct.pack("=BxHiII", 0, 1, 7, flags, 0xFFFFFFFF)
    return struct.pack("=LHHLL", 16 + len(body), kind, 0, 0, 0) + body


def test_addresses_and_routes_that_go_or_change_ask_for_a_look_at_the_paths() -> None:
    lower_up = 0x10000
    assert network_news(_rtnl(21)) == NetworkNews(came_up=False, paths_changed=True)  # DELADDR
    assert network_news(_rtnl(25)) == NetworkNews(came_up=False, paths_changed=True)  # DELROUTE
    assert network_news(_rtnl(24)) == NetworkNews(came_up=True, paths_changed=True)  # NEWROUTE
    assert network_news(_rtnl(20)) == NetworkNews(came_up=True, paths_changed=True)  # NEWADDR
    assert network_news(_rtnl(16, 1)).paths_changed  # a link lost its carrier
    assert network_news(_rtnl(16, lower_up)) == NetworkNews(came_up=True)  # a link came up
    assert network_news(_rtnl(21) + _rtnl(20)) == NetworkNews(True, True)  # one burst


def _route_reply(attrs: list[tuple[int, bytes]]) -> bytes:
    rtmsg = struct.pack("=BBBBBBBBI", socket.AF_INET, 32, 0, 0, 254, 2, 0, 1, 0)
    body = rtmsg + b"".join(
        struct.pack("=HH", 4 + len(v), k) + v + b"\0" * (-len(v) % 4) for k, v in attrs
    )
    return struct.pack("=LHHLL", 16 + len(body), 24, 0, 1, 0) + body


def test_the_route_is_read_from_the_kernels_answer() -> None:
    reply = _route_reply([(1, socket.inet_aton(PEER)), (4, struct.pack("=I", 6)),
                          (7, socket.inet_aton(NEW))])  # fmt: skip
    assert parse_route_reply(reply, socket.AF_INET) == CABLE
    error = struct.pack("=LHHLL", 36, 2, 0, 1, 0) + struct.pack("=i", -101) + b"\0" * 16
    assert parse_route_reply(error, socket.AF_INET) is None  # ENETUNREACH, a blackhole
    assert parse_route_reply(b"", socket.AF_INET) is None
