# helpers.sh: first in every script. Strict about unset variables, private files, and
# the two functions every other file uses.
#
# Provides:
#   say           say WORDS...: print one line (a reply is `KEY value`)
#   shq           shq WORD: WORD quoted for sh, for a line written into another script

set -u
umask 077
# shellcheck disable=SC2317  # not every script calls it
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
say() { printf '%s\n' "$*"; }
