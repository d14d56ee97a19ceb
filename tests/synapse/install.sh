#!/bin/sh
# Install the pinned Synapse used by tests/test_matrix.py into its own venv (never the
# project's: Synapse pins its own Twisted, pydantic, ... and must not change ours).
#   tests/synapse/install.sh /path/to/synapse-venv
#   ANNIVERSARY_BOT_SYNAPSE_VENV=/path/to/synapse-venv .venv/bin/python -m pytest tests/test_matrix.py
# About 45 s and 250 MB on a fresh machine. SQLite only: no other service is needed.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 VENV_DIR" >&2
    exit 2
fi
VENV="$1"
SYNAPSE_VERSION="1.163.2"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir "matrix-synapse==$SYNAPSE_VERSION"
"$VENV/bin/python" -c "import synapse; print('synapse', synapse.__version__)"
echo "installed; now: export ANNIVERSARY_BOT_SYNAPSE_VENV=$VENV"
