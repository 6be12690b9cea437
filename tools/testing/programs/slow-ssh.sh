#!/bin/sh
# Stands in for ssh to a slow git server (GIT_SSH_COMMAND, with GIT_SSH_VARIANT=simple): waits
# SLOW_SSH_DELAY seconds, then runs the git command it was given on this machine, so
# `git clone ssh://slow/<path>` clones <path> slowly. Lets a test catch a session mid-clone.
sleep "${SLOW_SSH_DELAY:-3}"
eval "command=\${$#}"
exec sh -c "$command"
