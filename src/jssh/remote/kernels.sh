# kernels.sh: `jssh down` and `jssh remove`, before they stop NAME's server: which
# kernels run on it, when each was last active, and the notebooks open with them,
# asked of the server itself (GET /api/kernels and /api/sessions on its socket, with
# the token read here from D/token: it is never on a command line). Works with no
# tunnel open; for a Slurm job it runs in a step of the job (srun), on the node. Asks with the server's own Python (its /proc/PID/exe), else python3:
# no curl needed. (Read-only.)
#
# Pieces: helpers host
#
# Parameters:
#   SOCK          the server's unix socket; empty: it listens on TCP, on 127.0.0.1:PORT
#   PORT          its TCP port when SOCK is empty
#
# Replies:
#   KERNEL kernel `execution_state last_activity` (ISO 8601), one line per kernel
#   NOTEBOOK path what a session has open with a kernel (GET /api/sessions), one a line
#   KERNELS count how many kernels run (after the KERNEL lines)
#   UNASKED why   the server runs but could not be asked
#   NOTRUNNING    no server runs
#   and ERROR (host.sh)
#
# Exit codes:
#   0             always, once D exists
#   and 5 (ERROR, from host.sh)
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

PID=$(server_pid)
if ! alive "$PID"; then
  say "NOTRUNNING"
  exit 0
fi
PY=$(readlink "/proc/$PID/exe" 2>/dev/null || true)
case "$PY" in
  */python*) ;;
  *) PY=$(command -v python3 2>/dev/null || true) ;;
esac
if [ -z "$PY" ]; then
  say "UNASKED no python to ask it with"
  exit 0
fi
"$PY" - "$SOCK" "$PORT" "$D/token" <<'PYTHON' || say "UNASKED it did not answer"
import json, socket, sys
sock_path, port, token_file = sys.argv[1:4]
with open(token_file) as f:
    token = f.read().strip()


def get(path):
    if sock_path:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(10)
        conn.connect(sock_path)
    else:
        conn = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    request = "GET %s HTTP/1.0\r\nHost: localhost\r\nAuthorization: token %s\r\n\r\n"
    conn.sendall((request % (path, token)).encode())
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    head, _, body = data.partition(b"\r\n\r\n")
    words = head.split(b"\r\n", 1)[0].split()
    return (words[1].decode() if len(words) > 1 else "nothing"), body


status, body = get("/api/kernels")
if status != "200":
    print("UNASKED it answered %s" % status)
    sys.exit(0)
kernels = json.loads(body.decode())
for kernel in kernels:
    print("KERNEL %s %s" % (kernel.get("execution_state") or "unknown",
                            kernel.get("last_activity") or "-"))
status, body = get("/api/sessions")
if status == "200":
    for session in json.loads(body.decode()):
        path = " ".join(str(session.get("path") or "").split())
        if path:
            print("NOTEBOOK %s" % path)
print("KERNELS %d" % len(kernels))
PYTHON
exit 0
