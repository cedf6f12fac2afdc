# lock.sh: one jssh at a time changes NAME's remote state. Holds the lock directory
# D/lock until the script exits; breaks a lock whose holder is gone.
#
# After: helpers host
#
# Parameters:
#   NAME          for the BUSY message
#
# Replies:
#   BUSY text     another jssh held the lock for 60 s
#
# Exit codes:
#   6             BUSY
#
# shellcheck disable=SC2034,SC2154  # alone, a file's shared variables look unset or
# unused: the loader's whole scripts are checked too (tests/unit/test_remote_scripts.py)

n=0
while ! mkdir "$D/lock" 2>/dev/null; do
  holder=$(cat "$D/lock/pid" 2>/dev/null || true)
  if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then rm -rf "$D/lock"; continue; fi
  n=$((n + 1))
  if [ "$n" -gt 600 ]; then say "BUSY another jssh is starting Jupyter for $NAME"; exit 6; fi
  sleep 0.1
done
echo $$ > "$D/lock/pid"
trap 'rm -rf "$D/lock"' EXIT
