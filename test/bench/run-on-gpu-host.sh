#!/usr/bin/env bash
# Runs the client-fidelity and scale benchmarks on a bigger machine with no
# network (the GPU host of the device tool, 16 cores), from the repo root, with:
#   .gpu-bundle/node.xz              an x86-64 node 20 binary (test/gpu/bundle.sh)
#   .gpu-bundle/prod-modules.tar.xz  node_modules of `npm ci --omit=dev`, tar + xz
# The Python client uses the machine's python3 and its aiohttp (KVGATE_BENCH_PYTHON).
# Writes results/bench/*.json and the console output into $OUT (or ./bench-out).
set -uo pipefail
OUT=${OUT:-$PWD/bench-out}
mkdir -p "$OUT" /tmp/kvgate-bin
python3 -c "import lzma,shutil,os;shutil.copyfileobj(lzma.open('.gpu-bundle/node.xz'),open('/tmp/kvgate-bin/node','wb'));os.chmod('/tmp/kvgate-bin/node',0o755)" || exit 4
export PATH=/tmp/kvgate-bin:$PATH
[ -d node_modules ] || tar xJf .gpu-bundle/prod-modules.tar.xz || exit 5
export KVGATE_BENCH_PYTHON=${KVGATE_BENCH_PYTHON:-python3}
{ nproc; python3 -c "import aiohttp,sys;print('python', sys.version.split()[0], 'aiohttp', aiohttp.__version__)"; } | tee "$OUT/machine.txt"
node --import tsx test/bench/client-fidelity.bench.ts 2>&1 | tee "$OUT/client-fidelity.txt"
node --import tsx test/bench/scale.bench.ts 2>&1 | tee "$OUT/scale.txt"
cp results/bench/client-fidelity.json results/bench/scale.json "$OUT/" 2>/dev/null
