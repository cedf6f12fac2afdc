"""jssh: JupyterLab on a remote workstation or cluster, through the system OpenSSH.

How the package is cut, and which way imports may flow (tests/unit/test_architecture.py
checks this on every run: no cycle, no arrow back up a layer, no other module's
`_private` names, no dependency's private API):

    7  __main__
    6  cli, fastpath, completion       parse, call one function, render; fast paths
    5  commands/   manage (add/remove), doctor, service
    4  watchdog/   event sources -> host state machine -> effects
    3  session/    one host's up/down/status: workstation or Slurm, the tunnel's owner
    2  config/     the managed ssh file, the Include edit, hosts.json
       ssh/        the only place that runs ssh or talks to its control sockets
       remote/     the scripts that run on the remote, and their replies
    1  fsutil, exits, ports, probe, watchstatus,    small mechanisms
       render
    0  errors, failures, states, paths, names, hosts   plain types, no jssh imports
       forwards                                          beyond other leaves

A module imports from its own layer or below. Shared types live in the leaves, so
nothing imports a feature module just for a type.
"""

from __future__ import annotations

__version__ = "0.1.0"
