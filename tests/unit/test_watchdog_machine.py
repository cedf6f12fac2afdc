"""The watchdog's host state machine, driven through the faults a user meets, with a
fake clock: no ssh, no processes, no sleeps. Each test reads as a line of the spec;
what is asserted is what a user would notice (is the tunnel followed, is a respawn
started, is it left alone, what the log says), not how the machine keeps its books.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from jssh.failures import SshFailure
from jssh.watchdog import effects as fx
from jssh.watchdog import events as ev
from jssh.watchdog import policy
from jssh.watchdog.machine import handle
from jssh.watchdog.model import ALLOWED, Host, InvalidTransition, change
from jssh.watchdog.states import Cause, HostState, Master, Timer

ADDRESS = (socket.AF_INET, ("192.0.2.7", 22))
E = TypeVar("E", bound=fx.Effect)
SEEN: list[Host] = []  # every host value any Sim passed through (for the invariants)


class Sim:
    """One host, its machine, and a fake clock that fires the host's deadlines as the
    loop would."""

    def __init__(self, **fields: Any) -> None:
        defaults: dict[str, Any] = {
            "local_port": 8899,
            "probe_addr": ADDRESS,
            "net_events": True,
            "seed": 7,
        }
        self.host = Host("ws", **{**defaults, **fields})
        self.now = 1000.0
        self.effects: list[fx.Effect] = []
        self.socket_present = True

    @property
    def state(self) -> HostState:
        return self.host.state

    def send(self, event: ev.Event, *, wanted: bool | None = None) -> list[fx.Effect]:
        if wanted is not None:
            self.host = replace(self.host, wanted=wanted)
        self.host, effects = handle(self.host, event, self.now)
        SEEN.append(self.host)
        self.effects += effects
        return effects

    def wait(self, seconds: float) -> list[fx.Effect]:
        """Let SECONDS pass, firing each deadline when it comes."""
        end, done = self.now + seconds, []
        while True:
            timers = self.host.timers()
            if not timers or min(timers.values()) > end:
                break
            self.now = max(self.now, min(timers.values()))
            for timer, at in timers.items():
                if at <= self.now:
                    event: ev.Event = ev.Due(timer)
                    if timer is Timer.VERIFY_SOCKET:
                        event = ev.SocketLooked(present=self.socket_present)
                    done += self.send(event)
        self.now = end
        return done

    def last(self, kind: type[E]) -> E:
        found = [e for e in self.effects if isinstance(e, kind)]
        assert found, f"no {kind.__name__} in {self.effects}"
        return found[-1]

    def lines(self) -> list[str]:
        """The log lines so far, as `jssh watch` prints them (without the time)."""
        out = []
        for e in self.effects:
            if (isinstance(e, fx.Report) and not e.quiet) or isinstance(e, fx.Note):
                out.append(f"{e.what}; {e.did}")
        return out

    # -- common steps -------------------------------------------------------------------
    def start(self, *, master: int | None = 100) -> None:
        """The watchdog starts and looks for the host's master."""
        self.send(ev.Consider(Cause.STARTED))
        self.send(ev.MasterChecked(self.last(fx.CheckMaster).ticket, pid=master))

    def attempt_ends(self, rc: int = 0, failure: SshFailure | None = None, **kw: Any) -> None:
        spawn = self.last(fx.Spawn)
        reason = kw.pop("reason", f"ssh failed ({failure.value})" if failure else "")
        self.send(ev.AttemptExited(spawn.ticket, spawn.master, rc, failure, reason), **kw)

    def master_found(self, pid: int | None) -> None:
        self.send(ev.MasterChecked(self.last(fx.CheckMaster).ticket, pid=pid))

    def respawn_fails(self, failure: SshFailure) -> None:
        self.attempt_ends(255, failure)
        self.master_found(None)

    def outage(self, failure: SshFailure | None = None) -> None:
        """Followed master 100 dies; the first respawn fails with FAILURE, if given."""
        self.start()
        self.send(ev.MasterExited(100))
        if failure is not None:
            self.respawn_fails(failure)


def spawned(effects: list[fx.Effect]) -> list[Master]:
    return [e.master for e in effects if isinstance(e, fx.Spawn)]


# -- a plain host ---------------------------------------------------------------------------------
def test_a_running_master_is_followed_when_the_watchdog_starts() -> None:
    sim = Sim()
    sim.start(master=100)
    assert sim.state is HostState.CONNECTED
    assert sim.host.master_pid == 100
    assert sim.lines() == ["watchdog started: master pid 100; following it"]


def test_a_wanted_host_without_a_master_gets_one_when_the_watchdog_starts() -> None:
    sim = Sim()
    sim.start(master=None)
    assert spawned(sim.effects) == [Master.FORWARD]
    assert sim.lines() == ["watchdog started; no tunnel is up; starting one"]
    assert sim.last(fx.Report).state.shown == "retrying"


def test_a_host_that_is_not_wanted_is_left_alone_silently() -> None:
    sim = Sim(wanted=False)
    sim.send(ev.Consider(Cause.STARTED))
    assert sim.state is HostState.DOWN
    assert sim.effects == []


def test_a_killed_master_is_respawned_at_once_and_the_outage_is_timed() -> None:
    sim = Sim()
    sim.start()
    effects = sim.send(ev.MasterExited(100, last_words="Killed by signal 9."))
    assert spawned(effects) == [Master.FORWARD]  # no backoff before the first respawn
    sim.now += 0.25
    sim.attempt_ends(0)
    sim.master_found(200)
    assert sim.state is HostState.CONNECTED
    assert sim.host.master_pid == 200
    assert sim.lines()[1:] == [
        "master pid 100 exited (Killed by signal 9.); respawning it now",
        "respawned: master pid 200; following it; forward 127.0.0.1:8899 back after 0.2 s",
    ]
    assert sim.last(fx.Report).state.shown == "connected"


@pytest.mark.parametrize("failure", [k for k in SshFailure if k.needs_user])
def test_a_respawn_that_needs_the_user_is_never_retried(failure: SshFailure) -> None:
    # An authentication failure retried in BatchMode could lock the account.
    sim = Sim()
    sim.outage(failure)
    assert sim.state is HostState.NEEDS_USER
    report = sim.last(fx.Report)
    assert report.state.shown == "needs-user"
    assert "run `jssh up ws` in a terminal" in report.did
    # Nothing brings a retry: not time, not the network, not its sshd answering.
    assert sim.wait(24 * 3600) == []
    assert sim.send(ev.NetworkChanged()) == []
    assert sim.send(ev.ProbeAnswered(reachable=True)) == []
    assert spawned(sim.effects) == [Master.FORWARD]


def test_a_user_who_runs_jssh_up_after_a_prompt_is_looked_after_again() -> None:
    sim = Sim()
    sim.outage(SshFailure.AUTH)
    sim.send(ev.MarkerChanged())  # `jssh up` in a terminal touched the marker
    sim.master_found(300)
    assert sim.state is HostState.CONNECTED
    assert sim.lines()[-1] == "brought up: master pid 300; following it"


@pytest.mark.parametrize("failure", [k for k in SshFailure if k.network])
def test_an_unreachable_host_is_retried_on_a_backoff_and_probed(failure: SshFailure) -> None:
    sim = Sim()
    sim.outage(failure)
    assert sim.state is HostState.WAITING
    assert sim.last(fx.Report).did.startswith("next attempt in 0.")
    assert "or as soon as it answers or when the network changes" in sim.last(fx.Report).did
    assert isinstance(sim.wait(0)[0], fx.StartProbe)  # its sshd is probed at once
    assert spawned(sim.wait(0.4)) == []
    assert spawned(sim.wait(0.3)) == [Master.FORWARD]  # 0.5 s +-20 %


def test_repeated_failures_back_off_doubling_up_to_the_cap_and_log_sparingly() -> None:
    sim = Sim(probe_addr=None)
    sim.outage()
    delays = []
    for _ in range(12):
        sim.respawn_fails(SshFailure.TIMEOUT)
        assert sim.host.retry_at is not None
        delays.append(sim.host.retry_at - sim.now)
        sim.wait(delays[-1])
    for n, delay in enumerate(delays, start=1):
        nominal = min(policy.BACKOFF_CAP, policy.BACKOFF_FIRST * 2 ** (n - 1))
        assert nominal * 0.8 <= delay <= nominal * 1.2, (n, delays)
    assert max(delays) <= policy.BACKOFF_CAP * 1.2
    # The same failure is logged on attempts 1, 2, 4, 8 only (`jssh status` has every one).
    logged = [line for line in sim.lines() if line.startswith("respawn failed")]
    assert [line.split("(attempt ")[-1][:2] for line in logged[1:]] == ["2)", "4)", "8)"]


def test_a_busy_local_port_is_retried_on_the_backoff_without_probing() -> None:
    sim = Sim()
    sim.outage(SshFailure.PORT_BUSY)
    assert sim.state is HostState.WAITING
    assert "answers" not in sim.last(fx.Report).did
    assert not any(isinstance(e, fx.StartProbe) for e in sim.wait(0.7))
    assert spawned(sim.effects) == [Master.FORWARD, Master.FORWARD]


def test_the_network_coming_back_restarts_an_attempt_stuck_in_syn_backoff() -> None:
    sim = Sim()
    sim.outage()
    sim.now += 3  # the attempt began while the link was down
    effects = sim.send(ev.NetworkChanged())
    cancel = next(e for e in effects if isinstance(e, fx.CancelAttempt))
    assert cancel.ticket == sim.last(fx.Spawn).ticket
    assert "the network changed; retrying now" in sim.lines()
    # Its failure is the cancel's doing: a new attempt follows at once, no backoff.
    sim.respawn_fails(SshFailure.TIMEOUT)
    assert sim.state is HostState.STARTING
    assert len(spawned(sim.effects)) == 2


def test_the_network_coming_back_cuts_a_long_backoff_short() -> None:
    sim = Sim(probe_addr=None)
    sim.outage()
    for _ in range(7):
        sim.respawn_fails(SshFailure.UNREACHABLE)
        sim.wait(sim.host.retry_at - sim.now if sim.host.retry_at else 0)
    sim.respawn_fails(SshFailure.UNREACHABLE)
    assert sim.host.retry_at is not None
    assert sim.host.retry_at - sim.now > 20
    sim.send(ev.NetworkChanged())
    assert spawned(sim.wait(0)) == [Master.FORWARD]
    # For a while after a change, failures are retried quickly (a stale ARP entry).
    sim.respawn_fails(SshFailure.UNREACHABLE)
    assert sim.host.retry_at == sim.now + policy.NUDGE_RETRY


def test_its_sshd_answering_again_starts_a_new_attempt_at_once() -> None:
    sim = Sim()
    sim.outage(SshFailure.TIMEOUT)
    sim.wait(0)
    sim.send(ev.ProbeAnswered(reachable=False))  # still down
    for _ in range(3):  # the backoff's attempts come and go; the probes go on
        sim.wait(sim.host.retry_at - sim.now)
        sim.respawn_fails(SshFailure.TIMEOUT)
    sim.wait(policy.PROBE_INTERVAL)
    assert isinstance(sim.effects[-1], fx.StartProbe)
    before = len(spawned(sim.effects))
    sim.send(ev.ProbeAnswered(reachable=True))
    assert sim.lines()[-1] == "its sshd answers again; retrying now"
    assert spawned(sim.wait(0)) == [Master.FORWARD]
    assert len(spawned(sim.effects)) == before + 1


def test_a_host_reachable_all_along_is_probed_once_and_then_left_to_the_backoff() -> None:
    sim = Sim()
    sim.outage(SshFailure.CLOSED)
    sim.wait(0)
    sim.send(ev.ProbeAnswered(reachable=True))
    assert sim.host.probing is None
    assert spawned(sim.wait(0.3)) == []  # no retry before the backoff says so


def test_a_host_brought_down_during_an_attempt_is_left_alone() -> None:
    sim = Sim()
    sim.outage()
    effects = sim.send(ev.MarkerChanged(), wanted=False)  # `jssh down`
    assert sim.state is HostState.DOWN
    assert any(isinstance(e, fx.CancelAttempt) for e in effects)
    assert sim.lines()[-1] == "brought down by the user; leaving it alone"
    # The attempt had opened a master just before: it is closed, not followed.
    sim.attempt_ends(0)
    assert sim.effects[-1] == fx.StopMaster(Master.FORWARD)
    assert sim.wait(3600) == []
    assert sim.send(ev.NetworkChanged()) == []


def test_a_master_that_exits_because_of_jssh_down_is_not_respawned() -> None:
    sim = Sim()
    sim.start()
    # `jssh down` removes the marker just before it stops the master, and the master's
    # exit reaches the watchdog before the marker's file event does.
    sim.send(ev.MasterExited(100), wanted=False)
    assert sim.state is HostState.DOWN
    assert sim.lines()[-1] == "master pid 100 exited; the host was brought down: leaving it alone"
    assert sim.send(ev.MarkerChanged()) == []
    assert spawned(sim.effects) == []


def test_a_stopped_master_is_killed_on_the_second_look_and_replaced() -> None:
    sim = Sim()
    sim.start()
    assert sim.send(ev.MasterLooked(100, stopped=True)) == []  # once: maybe a debugger
    effects = sim.send(ev.MasterLooked(100, stopped=True))
    assert effects == [fx.KillMaster(sim.last(fx.KillMaster).ticket, 100)]
    assert sim.host.master_pid is None  # not followed while it is killed: its exit is ours
    assert sim.send(ev.MasterExited(100)) == []
    sim.send(ev.MasterKilled(sim.last(fx.KillMaster).ticket))
    assert sim.lines()[-1] == (
        "master pid 100 is stopped (SIGSTOP): it cannot keep the tunnel; killed it; respawning now"
    )
    assert spawned(sim.effects) == [Master.FORWARD]


def test_a_master_that_runs_again_between_looks_is_left_alone() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.MasterLooked(100, stopped=True))
    sim.send(ev.MasterLooked(100, stopped=False))  # SIGCONT
    assert sim.send(ev.MasterLooked(100, stopped=True)) == []
    assert sim.state is HostState.CONNECTED


def test_a_master_that_does_not_answer_on_its_socket_is_killed_and_replaced() -> None:
    sim = Sim()
    sim.send(ev.Consider(Cause.STARTED))
    sim.send(ev.MasterChecked(sim.last(fx.CheckMaster).ticket, silent=100))
    sim.send(ev.MasterKilled(sim.last(fx.KillMaster).ticket))
    assert sim.lines()[-1].startswith("master pid 100 does not answer on its control socket")
    assert spawned(sim.effects) == [Master.FORWARD]


def test_a_master_whose_control_socket_was_deleted_is_stopped_a_moment_later() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.SocketDeleted())
    assert sim.wait(0.4) == []
    sim.socket_present = False
    assert sim.wait(0.2)[0] == fx.TerminateMaster(100)
    # Its exit then brings the respawn.
    assert spawned(sim.send(ev.MasterExited(100))) == [Master.FORWARD]


def test_a_socket_replaced_at_once_by_a_respawn_is_no_reason_to_stop_anything() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.SocketDeleted())
    assert sim.wait(1) == []
    assert sim.state is HostState.CONNECTED


# -- after the laptop slept ---------------------------------------------------------------------
def test_after_a_sleep_a_master_whose_connection_does_not_answer_is_replaced() -> None:
    # A NAT forgot the connection while the lid was closed: ssh would learn it from
    # ServerAlive, ~15 s later. A round trip that does not come back says it now.
    sim = Sim()
    sim.start()
    verify = sim.send(ev.Woke())
    assert verify == [fx.VerifyMaster(sim.last(fx.VerifyMaster).ticket)]
    assert sim.state is HostState.CONNECTED  # still followed while it is asked
    sim.now += policy.VERIFY_WAIT
    sim.send(ev.MasterVerified(sim.last(fx.VerifyMaster).ticket, answered=False))
    assert sim.last(fx.KillMaster).pid == 100
    sim.send(ev.MasterKilled(sim.last(fx.KillMaster).ticket))
    assert sim.lines()[-1] == (
        "master pid 100 did not answer after the sleep (its connection is dead, though ssh"
        " cannot tell yet); killed it; respawning now"
    )
    assert spawned(sim.effects) == [Master.FORWARD]
    assert sim.last(fx.OpenBridge)  # and the port is held for the page meanwhile


def test_after_a_sleep_a_master_that_answers_is_left_as_it_is() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.Woke())
    assert sim.send(ev.MasterVerified(sim.last(fx.VerifyMaster).ticket, answered=True)) == []
    assert sim.state is HostState.CONNECTED
    assert sim.host.master_pid == 100
    assert sim.lines() == ["watchdog started: master pid 100; following it"]  # nothing to say


def test_after_two_sleeps_only_the_last_round_trip_counts() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.Woke())
    first = sim.last(fx.VerifyMaster).ticket
    sim.send(ev.Woke())  # asleep again before the answer came
    assert sim.send(ev.MasterVerified(first, answered=False)) == []  # stale: ignored
    assert sim.state is HostState.CONNECTED
    sim.send(ev.MasterVerified(sim.last(fx.VerifyMaster).ticket, answered=False))
    assert sim.state is HostState.KILLING


def test_a_round_trip_that_answers_after_the_master_died_is_ignored() -> None:
    sim = Sim()
    sim.start()
    sim.send(ev.Woke())
    ticket = sim.last(fx.VerifyMaster).ticket
    sim.send(ev.MasterExited(100))  # it died by itself meanwhile: respawning already
    assert sim.send(ev.MasterVerified(ticket, answered=False)) == []
    assert sim.state is HostState.STARTING


def test_after_a_sleep_a_host_on_its_way_back_is_tried_at_once() -> None:
    sim = Sim(probe_addr=None)
    sim.outage(SshFailure.UNREACHABLE)
    assert sim.state is HostState.WAITING
    sim.send(ev.Woke())
    assert "the laptop woke; retrying now" in sim.lines()
    assert spawned(sim.wait(0)) == [Master.FORWARD]  # now, not at the end of the backoff


def test_a_master_started_by_someone_else_is_adopted_while_waiting() -> None:
    sim = Sim(probe_addr=None)
    sim.outage(SshFailure.REFUSED)
    sim.send(ev.SocketAppeared())
    sim.master_found(400)
    assert sim.state is HostState.CONNECTED
    assert sim.lines()[-1].startswith("a master appeared: master pid 400; following it; forward")


def test_a_socket_that_appears_without_a_master_changes_nothing() -> None:
    sim = Sim(probe_addr=None)
    sim.outage(SshFailure.REFUSED)
    retry_at = sim.host.retry_at
    sim.send(ev.SocketAppeared())
    sim.master_found(None)
    assert sim.state is HostState.WAITING
    assert sim.host.retry_at == retry_at


def test_jssh_up_at_work_on_the_host_holds_the_respawn_back_quietly() -> None:
    sim = Sim()
    sim.outage()
    sim.send(ev.LockBusy())
    assert sim.state is HostState.WAITING
    assert spawned(sim.wait(policy.LOCK_RETRY - 0.1)) == []
    assert spawned(sim.wait(0.1)) == [Master.FORWARD]
    assert sim.lines() == ["watchdog started: master pid 100; following it",
                           "master pid 100 exited; respawning it now"]  # fmt: skip


def test_ssh_that_cannot_even_start_is_retried_on_the_backoff() -> None:
    sim = Sim()
    sim.outage()
    sim.send(ev.SpawnFailed("[Errno 2] No such file or directory: 'ssh'"))
    assert sim.state is HostState.WAITING
    assert sim.lines()[-1].startswith("could not start ssh: [Errno 2]")


def test_an_attempt_that_hangs_past_the_limit_is_killed() -> None:
    sim = Sim()
    sim.outage()
    assert sim.wait(policy.ATTEMPT_LIMIT - 1) == []
    assert sim.wait(1) == [fx.KillAttempt(sim.last(fx.Spawn).ticket)]


def test_an_answer_that_comes_after_the_host_moved_on_is_ignored() -> None:
    sim = Sim()
    sim.send(ev.Consider(Cause.STARTED))
    stale = sim.last(fx.CheckMaster).ticket
    sim.send(ev.MarkerChanged(), wanted=False)
    assert sim.send(ev.MasterChecked(stale, pid=100), wanted=True) == []
    assert sim.state is HostState.DOWN


# -- a Slurm host: two masters, and a job that can end -----------------------------------------
def test_a_slurm_hosts_login_master_comes_back_before_its_nodes() -> None:
    sim = Sim(slurm=True)
    sim.outage()
    check = sim.last(fx.CheckSlurm)
    assert check.ask_job
    sim.send(ev.SlurmChecked(check.ticket, login_up=False))
    assert spawned(sim.effects) == [Master.LOGIN]
    sim.attempt_ends(0)
    assert sim.lines()[-1] == "the login node's master is back; now the node's"
    check = sim.last(fx.CheckSlurm)
    assert check.ask_job  # the job was not asked yet in this outage
    sim.send(ev.SlurmChecked(check.ticket, login_up=True, asked_job=True, job_alive=True))
    assert spawned(sim.effects) == [Master.LOGIN, Master.FORWARD]
    sim.attempt_ends(0)
    sim.master_found(200)
    assert sim.state is HostState.CONNECTED
    assert sim.lines()[-1].startswith("respawned: master pid 200; following it")


def test_a_slurm_job_that_ended_is_reported_once_and_never_respawned() -> None:
    sim = Sim(slurm=True)
    sim.outage()
    check = sim.last(fx.CheckSlurm)
    sim.send(ev.SlurmChecked(check.ticket, login_up=True, asked_job=True, job_alive=False))
    assert sim.state is HostState.JOB_ENDED
    end = sim.last(fx.EndJob)
    effects = sim.send(ev.JobReported(end.ticket, "12", "CANCELLED"), wanted=False)
    assert fx.ForgetWanted() in effects  # no marker, no token: a new `jssh up` is needed
    assert sim.lines()[-1] == (
        "Slurm job 12 ended (CANCELLED) while the tunnel was up;"
        " run `jssh up ws` to start a new one (closed its connections; not retrying)"
    )
    assert sim.last(fx.Report).state.shown == "job-ended"
    before = list(sim.effects)
    sim.wait(3600)
    sim.send(ev.NetworkChanged())
    sim.send(ev.MarkerChanged())  # the marker's removal: quiet
    sim.send(ev.JobReported(end.ticket, "12", "CANCELLED"))  # again: once is enough
    assert sim.effects == before


def test_a_slurm_job_is_asked_after_on_attempts_1_2_4_8_of_an_outage() -> None:
    asked = [n for n in range(0, 20) if policy.ask_job(n, asked_at=0 if n else None)]
    assert asked == [0, 1, 2, 4, 8, 16]
    assert not policy.ask_job(4, asked_at=4)  # not twice on one attempt


# -- the machine's own rules ----------------------------------------------------------------------
def test_an_invalid_transition_raises() -> None:
    with pytest.raises(InvalidTransition, match="IDLE -> CONNECTED"):
        change(Host("ws"), HostState.CONNECTED)
    down = change(Host("ws"), HostState.DOWN)
    with pytest.raises(InvalidTransition, match="DOWN -> STARTING"):
        change(down, HostState.STARTING)


def test_no_state_can_follow_a_master_without_having_looked_for_it() -> None:
    # Only a look (CHECKING) or a Slurm step leads to CONNECTED: never a guess.
    assert {s for s, targets in ALLOWED.items() if HostState.CONNECTED in targets} == {
        HostState.CHECKING
    }


def test_nothing_is_started_while_a_host_is_left_alone() -> None:
    for state in (HostState.NEEDS_USER, HostState.JOB_ENDED, HostState.DOWN):
        assert HostState.STARTING not in ALLOWED[state]


def test_every_deadline_is_cleared_or_moved_when_it_fires() -> None:
    # Otherwise the loop would spin: it fires what is due until nothing is. Every host
    # value the scenarios above reached is tried, wanted and not.
    test_an_unreachable_host_is_retried_on_a_backoff_and_probed(SshFailure.TIMEOUT)
    test_its_sshd_answering_again_starts_a_new_attempt_at_once()
    test_a_slurm_hosts_login_master_comes_back_before_its_nodes()
    test_a_master_whose_control_socket_was_deleted_is_stopped_a_moment_later()
    hosts = {replace(h, wanted=w) for h in SEEN for w in (True, False)}
    fired = set()
    for host in hosts:
        for timer, at in host.timers().items():
            event: ev.Event = ev.Due(timer)
            if timer is Timer.VERIFY_SOCKET:
                event = ev.SocketLooked(present=True)
            after, _ = handle(host, event, at)
            assert after.timers().get(timer, at + 1) > at, (timer, host)
            fired.add(timer)
    assert fired >= set(Timer) - {Timer.SERVER}  # that one: test_watchdog_server.py


def test_the_machine_and_its_policy_do_no_io() -> None:
    # No clock, no processes, no files, no sockets: what they decide depends on their
    # arguments alone, which is what lets the tests above run on a fake clock.
    import ast
    import importlib

    pure = ("machine", "model", "policy", "states", "events", "effects")
    allowed = {"__future__", "dataclasses", "enum", "typing", "random", "jssh.failures",
               "jssh.states", "jssh.watchdog", *(f"jssh.watchdog.{m}" for m in pure)}  # fmt: skip
    for name in pure:
        module = importlib.import_module(f"jssh.watchdog.{name}")
        assert module.__file__ is not None
        tree = ast.parse(open(module.__file__).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                found = [node.module or ""]
            else:
                continue
            for imported in found:
                assert imported in allowed, f"{name} imports {imported}"
