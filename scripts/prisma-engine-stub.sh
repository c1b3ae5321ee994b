#!/usr/bin/env sh
# Stands in for Prisma's native schema engine, which cannot be downloaded on our machines.
# `prisma generate` only checks that PRISMA_SCHEMA_ENGINE_BINARY names an existing file; anything
# that really needs the engine (prisma migrate, db push) must fail loudly instead of pretending.
echo "prisma-engine-stub: the native schema engine is not installed; nnserve applies migrations with src/platform/db/migrator.ts (npm run db:migrate)" >&2
exit 1
