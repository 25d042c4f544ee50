#!/usr/bin/env bash
# Runs the Berth demo on a fresh Debian 12 machine, as root: installs what is missing, builds, starts
# a three-host cluster with real etcd, docker-registry and containers, and leaves it running.
# Tear it down with: npm run demo:down   (or: bash scripts/demo.sh down)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-up}" = down ]; then
  exec node integration/dist/demo/main.js down
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root; containers need namespaces, cgroups and mounts" >&2
  exit 1
fi

bash scripts/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
exec node integration/dist/demo/main.js up
