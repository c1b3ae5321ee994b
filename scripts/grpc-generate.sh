#!/usr/bin/env sh
# Generates the TypeScript types of proto/**/*.proto into src/generated/grpc (gitignored, like
# the Prisma client). Runs from the root `postinstall` and as `npm run grpc:types`. The flags
# must match PROTO_LOADER_OPTIONS in src/transport/grpc/protos.ts, which loads the same files at run time.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/proto-loader-gen-types ]; then
  echo "grpc-generate: @grpc/proto-loader not installed; src/generated/grpc was not generated" >&2
  exit 0
fi
rm -rf src/generated/grpc
exec node_modules/.bin/proto-loader-gen-types \
  --longs=String --enums=String --defaults --oneofs --includeComments \
  --grpcLib=@grpc/grpc-js --importFileExtension=.ts \
  -I proto -I node_modules/grpc-health-check/proto -O src/generated/grpc \
  nnserve/v1/training.proto nnserve/v1/prediction.proto nnserve/v1/models.proto \
  nnserve/v1/datasets.proto nnserve/v1/lifecycle.proto nnserve/v1/operate.proto \
  nnserve/v1/studies.proto \
  inference/grpc_predict_v2.proto health/v1/health.proto \
  google/rpc/status.proto google/rpc/error_details.proto
