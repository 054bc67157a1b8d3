#!/usr/bin/env bash
# Brings everything up on this machine: dependencies, the build, and the local cluster (Cassandra,
# OpenSearch, Elasticsearch on 127.0.0.1), then says where everything listens.
# Stop the servers with: scripts/cluster down
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./scripts/install-deps
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
./scripts/cluster up cassandra opensearch elasticsearch
echo
./scripts/cluster status || true
echo
./scripts/cluster env
echo
echo "cesync binary: build/src/cli/cesync ($(build/src/cli/cesync --version))"
echo "The daemon on a demo table arrives with the sync pipeline; stop the servers: scripts/cluster down"
