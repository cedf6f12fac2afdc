# idle.sh: idle_end tells a server that shut itself down after its idle timeout (`jssh
# add --idle-timeout`) from one that died or was killed. Jupyter says so itself, as its
# last words before it stops: "No kernels for N seconds; shutting down." (jupyter_server
# 2; 1.x says "No kernels or terminals for N seconds"). Nothing polls for it: the watch
# reads it once the server is gone, `status` once it found none running.
#
# After: helpers host
#
# Provides:
#   idle_end      idle_end FILE: replies IDLE when FILE (a server's log) ends that way
#
# Replies:
#   IDLE seconds  the server shut itself down after that many seconds without activity
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

# shellcheck disable=SC2317  # not every script calls it
idle_end() {
  IDLE_S=$(tail -n 200 "$1" 2>/dev/null |
    sed -n 's/.*No kernels[a-z ]* for \([0-9][0-9]*\) seconds; shutting down.*/\1/p' |
    tail -n 1)
  if [ -n "$IDLE_S" ]; then say "IDLE $IDLE_S"; fi
}
