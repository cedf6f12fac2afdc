"""The path a master's TCP connection takes, as the kernel sees it now (Linux).

After a network change a master's connection may be dead although ssh cannot know it
for ~15 s (ServerAlive): its local address was deleted, or the route to its peer now
leaves through another interface. These functions read the facts; whether they mean
"dead" is the state machine's call (machine.py).

All of it is cheap and needs no process: the master's socket from /proc (psutil), the
addresses from getifaddrs (psutil), and the route from one RTM_GETROUTE request on a
netlink socket (what `ip route get` asks, without starting `ip`).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from typing import TYPE_CHECKING, Any

from jssh.watchdog.events import Route, TcpPath

if TYPE_CHECKING:
    import psutil

# linux/netlink.h, linux/rtnetlink.h
_NLM_F_REQUEST = 0x1
_RTM_NEWROUTE = 24
_RTM_GETROUTE = 26
_RTA_DST = 1
_RTA_OIF = 4
_RTA_PREFSRC = 7
_NLMSG_HEADER = struct.Struct("=LHHLL")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTATTR = struct.Struct("=HH")
_LOOKUP_TIMEOUT = 0.5  # the kernel answers at once; this only bounds a surprise


def ssh_connection(master: psutil.Process, local_port: int) -> Any | None:
    """The master's own ssh connection: its lowest established TCP socket that is not
    the forward (a psutil connection), or None (through a ProxyJump: a pipe)."""
    import psutil

    try:
        conns = master.net_connections("inet")
    except psutil.Error:
        return None
    candidates = [
        c
        for c in conns
        if c.status == psutil.CONN_ESTABLISHED and c.raddr and c.laddr.port != local_port
    ]
    return min(candidates, key=lambda c: c.fd) if candidates else None


def master_path(master: psutil.Process, local_port: int) -> TcpPath | None:
    """The local and peer address of the master's ssh connection, or None."""
    conn = ssh_connection(master, local_port)
    return None if conn is None else TcpPath(local=conn.laddr.ip, peer=conn.raddr.ip)


def local_addresses() -> frozenset[str]:
    """Every address of this machine's interfaces now (getifaddrs)."""
    import psutil

    found = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                found.add(addr.address.split("%", 1)[0])  # fe80::1%eth0 -> fe80::1
    return frozenset(found)


def route_to(peer: str) -> Route | None:
    """The interface and source address a new connection to PEER would use now, or
    None when there is no usable route (unreachable, blackhole, or no netlink here)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    packed = address.packed
    attr = _RTATTR.pack(_RTATTR.size + len(packed), _RTA_DST) + packed
    body = _RTMSG.pack(family, len(packed) * 8, 0, 0, 0, 0, 0, 0, 0) + attr
    seq = 1
    request = _NLMSG_HEADER.pack(_NLMSG_HEADER.size + len(body), _RTM_GETROUTE,
                                 _NLM_F_REQUEST, seq, 0) + body  # fmt: skip
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
            sock.settimeout(_LOOKUP_TIMEOUT)
            sock.bind((0, 0))
            sock.send(request)
            reply = sock.recv(65536)
    except OSError:
        return None
    return parse_route_reply(reply, family)


def parse_route_reply(data: bytes, family: int) -> Route | None:
    """The Route in an RTM_GETROUTE answer; None for an error answer (no route)."""
    if len(data) < _NLMSG_HEADER.size:
        return None
    length, kind, _flags, _seq, _pid = _NLMSG_HEADER.unpack_from(data, 0)
    if kind != _RTM_NEWROUTE or length > len(data):
        return None  # NLMSG_ERROR: ENETUNREACH, EINVAL for a blackhole, ...
    offset = _NLMSG_HEADER.size + _RTMSG.size
    dev, source = None, None
    while offset + _RTATTR.size <= length:
        size, kind = _RTATTR.unpack_from(data, offset)
        if size < _RTATTR.size:
            break
        value = data[offset + _RTATTR.size : offset + size]
        if kind == _RTA_OIF and len(value) == 4:
            dev = struct.unpack("=I", value)[0]
        elif kind == _RTA_PREFSRC:
            source = socket.inet_ntop(family, value)
        offset += (size + 3) & ~3
    if dev is None or source is None:
        return None
    return Route(dev=dev, source=source)
