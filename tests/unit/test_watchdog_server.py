"""The watchdog keeps a workstation's Jupyter server running, not just the tunnel to it:
its death (the watch through the master ends) brings a restart with the same token, a
crash loop is given up after a few tries with a capped backoff, a Slurm host's server
is never restarted, and a host brought down is left alone. Fake clock, no processes.
"""

from __future__ import annotations

from dataclasses import replace

from test_watchdog_machine import SEEN, Sim

from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog import policy
from jssh.watchdog.machine import handle
from jssh.watchdog.states import HostState, RestartResult, ServerEnd, ServerPhase, Timer


def watches(sim: Sim) -> list[fx.WatchServer]:
    return [e for e in sim.effects if isinstance(e, fx.WatchServer)]


def restarts(effects: list[fx.Effect]) -> list[fx.RestartServer]:
    return [e for e in effects if isinstance(e, fx.RestartServer)]


def dies(sim: Sim, pid: int = 500, *, wanted: bool | None = None) -> list[fx.Effect]:
    """The watch answers: server PID exited."""
    ticket = watches(sim)[-1].ticket
    return sim.send(ev.ServerWatched(ticket, ServerEnd.GONE, pid, "tmux"), wanted=wanted)


def restart_ends(sim: Sim, result: RestartResult, pid: int | None = 600) -> list[fx.Effect]:
    ticket = sim.last(fx.RestartServer).ticket
    return sim.send(ev.ServerRestarted(ticket, result, pid, "" if pid else "No module named x"))


def test_a_followed_workstation_has_its_server_watched_through_the_master() -> None:
    sim = Sim()
    sim.start()
    assert sim.state is HostState.CONNECTED
    assert [w.until_start for w in watches(sim)] == [False]
    assert sim.host.server.phase is ServerPhase.WATCHING


def test_a_server_that_dies_is_restarted_at_once_with_the_same_token_and_watched_again() -> None:
    sim = Sim()
    sim.start()
    effects = dies(sim)
    assert restarts(effects) == [fx.RestartServer(sim.last(fx.RestartServer).ticket, True)]
    assert sim.host.holds_lock  # as `jssh up` does, so the two never race
    assert sim.lines()[-1] == (
        "Jupyter server pid 500 exited; restarting it with the same token (same URL)"
    )
    sim.now += 2.1
    restart_ends(sim, RestartResult.STARTED, 600)
    assert sim.state is HostState.CONNECTED  # the tunnel stayed
    assert sim.host.master_pid == 100
    assert sim.host.server.phase is ServerPhase.WATCHING
    assert len(watches(sim)) == 2
    assert not sim.host.holds_lock
    assert sim.lines()[-1] == (
        "restarted Jupyter: pid 600, same token; the URL answers again 2.1 s after it died;"
        " its kernels were lost"
    )


def test_a_server_that_ran_under_nohup_is_restarted_under_nohup() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.ServerWatched(watches(sim)[-1].ticket, ServerEnd.GONE, 500, "nohup"))
    assert sim.last(fx.RestartServer).use_tmux is False


def test_no_server_after_a_reboot_is_started_again() -> None:
    # The master came back after the workstation rebooted: the watch finds no server.
    sim = Sim()
    sim.start()
    effects = sim.send(ev.ServerWatched(watches(sim)[-1].ticket, ServerEnd.NONE, None, "tmux"))
    assert len(restarts(effects)) == 1
    assert sim.lines()[-1].startswith("no Jupyter server runs; restarting it")


def test_a_crash_loop_is_given_up_after_a_few_tries_with_a_capped_backoff() -> None:
    sim = Sim()
    sim.start()
    delays = []
    dies(sim)  # it had run for a while: the first restart is at once
    for _ in range(policy.SERVER_TRIES):
        assert sim.host.server.phase is ServerPhase.RESTARTING
        sim.now += 0.5
        restart_ends(sim, RestartResult.STARTED)
        sim.now += 0.5
        dies(sim, 600)  # ... and it dies at once, every time
        if sim.host.server.phase is ServerPhase.BACKOFF:
            assert sim.host.server.at is not None
            delays.append(sim.host.server.at - sim.now)
            assert restarts(sim.wait(delays[-1] - 0.01)) == []
            assert len(restarts(sim.wait(0.01))) == 1
    assert delays == [1.0, 2.0, 4.0]
    assert sim.host.server.phase is ServerPhase.GAVE_UP
    assert sim.host.server.gave_up
    report = sim.last(fx.Report)
    assert report.server is ServerPhase.GAVE_UP  # watchdog.json, which `jssh status` shows
    assert report.did.startswith(f"gave up after {policy.SERVER_TRIES} restarts in a row")
    assert sum("gave up" in line for line in sim.lines()) == 1  # one clear line
    assert sim.wait(3600) == []  # nothing more: no restart ever
    # It now waits, through the master, for a server the user starts.
    assert watches(sim)[-1].until_start
    assert all(policy.server_backoff(n) == policy.SERVER_BACKOFF_CAP for n in (6, 10, 100))


def test_a_restart_that_fails_counts_towards_giving_up() -> None:
    sim = Sim()
    sim.start()
    dies(sim)
    for _ in range(policy.SERVER_TRIES):
        restart_ends(sim, RestartResult.FAILED, None)
        sim.wait(policy.SERVER_BACKOFF_CAP)
    assert sim.host.server.phase is ServerPhase.GAVE_UP
    assert "No module named x" in sim.last(fx.Report).what


def test_after_giving_up_a_server_started_by_jssh_up_is_watched_again() -> None:
    sim = Sim()
    sim.start()
    sim.host = replace(sim.host, server=replace(sim.host.server, tries=policy.SERVER_TRIES))
    sim.host = replace(sim.host, server=replace(sim.host.server, started_at=sim.now))
    dies(sim)
    assert sim.host.server.phase is ServerPhase.GAVE_UP
    sim.send(ev.ServerWatched(watches(sim)[-1].ticket, ServerEnd.APPEARED, 700))
    assert sim.host.server.phase is ServerPhase.WATCHING
    assert not sim.host.server.gave_up
    assert not watches(sim)[-1].until_start
    assert len(restarts(dies(sim, 700))) == 1  # and restarted again when it dies


def test_a_slurm_hosts_server_is_never_watched_nor_restarted() -> None:
    sim = Sim(slurm=True)
    sim.start()  # its node's master
    assert sim.state is HostState.CONNECTED
    sim.send(ev.MasterExited(100))  # the job ended with its server: the machine says so
    sim.send(ev.SlurmChecked(sim.last(fx.CheckSlurm).ticket, login_up=True, node=200))
    assert watches(sim) == []
    assert sim.host.server.phase is ServerPhase.NONE


def test_a_slurm_host_without_a_node_yet_is_not_watched_either() -> None:
    sim = Sim(own_server=False)
    sim.start()
    assert sim.state is HostState.CONNECTED
    assert watches(sim) == []


def test_a_host_brought_down_meanwhile_is_not_restarted() -> None:
    sim = Sim()
    sim.start()
    assert restarts(dies(sim, wanted=False)) == []  # `jssh down` removed the marker first
    sim = Sim()
    sim.start()
    dies(sim)
    ticket = sim.last(fx.RestartServer).ticket
    sim.send(ev.MarkerChanged(), wanted=False)  # brought down while the restart ran
    assert sim.state is HostState.DOWN
    effects = sim.send(ev.ServerRestarted(ticket, RestartResult.STARTED, 600))
    assert effects == []
    assert sim.host.server.phase is ServerPhase.NONE
    assert sim.wait(3600) == []


def test_a_master_that_dies_during_a_restart_makes_its_answer_stale() -> None:
    sim = Sim()
    sim.start()
    dies(sim)
    old = sim.last(fx.RestartServer).ticket
    sim.send(ev.MasterExited(100))
    assert sim.host.server.phase is ServerPhase.NONE
    assert sim.send(ev.ServerRestarted(old, RestartResult.STARTED, 600)) == []
    sim.attempt_ends(0)
    sim.master_found(200)
    assert sim.host.server.phase is ServerPhase.WATCHING  # the new master's watch


def test_a_lost_watch_is_started_again_a_moment_later() -> None:
    sim = Sim()
    sim.start()
    assert sim.send(ev.ServerWatched(watches(sim)[-1].ticket, ServerEnd.LOST)) == []
    assert sim.host.timers()[Timer.SERVER] == sim.now + policy.WATCH_RETRY
    effects = sim.wait(policy.WATCH_RETRY)
    assert [type(e) for e in effects] == [fx.WatchServer]


def test_a_busy_lock_delays_the_restart_without_counting_it() -> None:
    sim = Sim()
    sim.start()
    dies(sim)
    sim.send(ev.LockBusy())  # `jssh up` holds the host lock
    assert sim.host.server.phase is ServerPhase.BACKOFF
    assert sim.host.server.tries == 1
    assert len(restarts(sim.wait(policy.LOCK_RETRY))) == 1
    restart_ends(sim, RestartResult.BUSY, None)  # the remote lock: the same
    assert len(restarts(sim.wait(policy.LOCK_RETRY))) == 1
    restart_ends(sim, RestartResult.RUNNING, 650)  # `up` started it meanwhile
    assert sim.host.server.phase is ServerPhase.WATCHING
    assert sim.host.server.tries == 0


def test_without_a_saved_token_the_server_is_not_restarted_with_a_new_url() -> None:
    sim = Sim()
    sim.start()
    dies(sim)
    restart_ends(sim, RestartResult.NO_TOKEN, None)
    assert sim.host.server.phase is ServerPhase.GAVE_UP
    assert "run `jssh up ws`" in sim.last(fx.Report).did


def test_every_server_deadline_is_cleared_or_moved_when_it_fires() -> None:
    test_a_crash_loop_is_given_up_after_a_few_tries_with_a_capped_backoff()
    test_a_lost_watch_is_started_again_a_moment_later()
    fired = 0
    for host in {replace(h, wanted=w) for h in SEEN for w in (True, False)}:
        at = host.timers().get(Timer.SERVER)
        if at is not None:
            after, _ = handle(host, ev.Due(Timer.SERVER), at)
            assert after.timers().get(Timer.SERVER, at + 1) > at
            fired += 1
    assert fired
