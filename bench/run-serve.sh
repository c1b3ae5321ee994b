#!/usr/bin/env bash
# npm run bench:serve — the serving benchmark (see bench/serve.ts).
#   DURATION=5          seconds per measured run (each after a 1 s warm-up)
#   CONCURRENCY=1,16,64 connections per run
#   DATABASE_URL        an existing Postgres to use; unset: a throwaway embedded one
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/node24.sh
exec node --disable-warning=ExperimentalWarning bench/serve.ts "$@"
