#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH (see node24.sh): `npm start` and `npm test` work
# the same on a machine whose own Node is older.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node24.sh"
exec "$@"
