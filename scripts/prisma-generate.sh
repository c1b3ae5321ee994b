#!/usr/bin/env sh
# Generates the Prisma client into src/generated/prisma (gitignored). Runs as the root
# `postinstall`, so a fresh `npm ci` leaves a runnable tree, and as `npm run db:generate`.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/prisma ]; then
  # An install without devDependencies (--omit=dev) has no Prisma CLI: such an image must copy
  # src/generated from a build stage, so say so rather than fail the whole install.
  echo "prisma-generate: prisma CLI not installed; src/generated/prisma was not generated" >&2
  exit 0
fi
# `prisma generate` never runs the schema engine but insists that one exists, and would try to
# download it; point it at our stub unless a real engine was provided.
PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$PWD/scripts/prisma-engine-stub.sh}"
export PRISMA_SCHEMA_ENGINE_BINARY
export CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
exec node_modules/.bin/prisma generate --schema prisma/schema.prisma "$@"
