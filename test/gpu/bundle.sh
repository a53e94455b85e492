#!/usr/bin/env bash
# Builds what test/gpu/run-pegaflow-real.sh needs on the GPU machine, which
# has no network and no node: the pegaflow-llm-cu13 wheel (cp312, PyPI), this
# machine's node binary (xz), and test/gpu/pegaflow-real.ts bundled by esbuild.
# Both folders are git-ignored; the device tool carries them:
#   carry: [".whl", ".gpu-bundle"]   command: bash test/gpu/run-pegaflow-real.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${PEGAFLOW_VERSION:-0.25.1}
rm -rf .whl .gpu-bundle
mkdir -p .whl .gpu-bundle/gpu
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d .whl "pegaflow-llm-cu13==$version"
xz -T2 -6 -c "$(command -v node)" > .gpu-bundle/node.xz
node_modules/.bin/esbuild test/gpu/pegaflow-real.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=.gpu-bundle/gpu/pegaflow-real.mjs --log-level=error \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# The bundle resolves the lifeline watchdog next to itself.
cp src/stack/lifeline-watchdog.mjs .gpu-bundle/gpu/
du -sh .whl .gpu-bundle
