"""`jssh watch`: keep every tunnel the user brought `up` connected, until stopped.

The parts, each with one job (and the direction of their imports):

    loop      the `Watchdog`: one thread in `select`; events in, effects out
    sources   where events come from: pidfds, netlink, files, probes, /proc
    machine   one host's lifecycle, pure: handle(host, event, now) -> (host, effects)
    server    the part of it that keeps a workstation's Jupyter server itself running
    model     the host as the machine sees it, and its one guarded state change
    policy    backoff, nudges, give-up: decided on jssh.failures.SshFailure
    execute   carries out effects on the loop; what a host holds follows its state
    relay     the bridge: the local port held, and relayed, while a master is replaced
    worker    the blocking jobs (ssh -O check, a round trip, ssh -G, squeue,
              kill-and-wait, a server's restart), on threads
    journal   watch.log and each host's watchdog.json
    events, effects, states   plain types: what happens, what to do, the vocabulary

Respawns are the block's own ssh in BatchMode with a short ConnectTimeout: they never
wait on a prompt. A host that needs a password is logged, shown in `jssh status`, and
left alone until the user runs `jssh up` again.

After a sleep (the loop's periodic look comes late on a clock that counts a suspend),
each followed master is asked for a round trip (`true` on the remote): a connection a
NAT forgot meanwhile looks alive to ssh until ServerAlive gives up, and one that does
not answer within policy.VERIFY_WAIT is killed and replaced.

While a workstation's master is followed, one watch runs through it (remote/watch.sh,
a mux client): it blocks on the remote until the server's pid is gone, and its exit is
the event. A dead server is started again as `jssh up` would, with the saved token, so
the URL open in the browser answers again; one that keeps dying is given up after
policy.SERVER_TRIES restarts (capped backoff), and a watch then waits for a server that
`jssh up` starts. A Slurm host's server is never restarted: its death ends the job.

A Slurm host has two masters: the login node's (`NAME-jupyter`) and the compute node's
(`NAME-jupyter-node`, jumped through the first), which holds the forward. The node's
master is the one followed: it dies with the login node's master too. A respawn brings
back the login node's master first, then asks squeue (through it) whether the job still
runs, and only then the node's master. That one remote call is made only when a master
died (or a respawn is retried), never periodically. A job that ended is reported once,
its masters are closed, and the host is left alone until the user runs `jssh up`.
"""

from __future__ import annotations

from jssh.watchdog.loop import Watchdog
from jssh.watchdog.sources import network_came_up

__all__ = ["Watchdog", "network_came_up"]
