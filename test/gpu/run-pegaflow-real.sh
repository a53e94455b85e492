#!/usr/bin/env bash
# Runs the real-pegaflow-server checks on the GPU machine (issue 9), from the
# repo root, with what travels alongside the working tree (ignored, carried):
#   .whl/pegaflow_llm_cu13-*.whl        the PegaFlow wheel (server binary + Python package)
#   .gpu-bundle/node.xz                 an x86-64 node 20 binary, xz-compressed
#   .gpu-bundle/gpu/pegaflow-real.mjs   test/gpu/pegaflow-real.ts bundled with esbuild
# Writes into $OUT (or ./gpu-out): console.txt, transcript.txt, signals.jsonl
# and artifacts.tgz (everything pegaflow-real wrote). Exit code: pegaflow-real's.
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
SITE=/tmp/kvgate-site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/pegaflow_llm_cu13-*.whl || exit 3
export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
export PATH=$SITE/bin:$PATH
python3 -c "import lzma,shutil,os;shutil.copyfileobj(lzma.open('.gpu-bundle/node.xz'),open('/tmp/node','wb'));os.chmod('/tmp/node',0o755)" || exit 4
{
  echo "node $(/tmp/node --version)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys,sysconfig,torch;print('python', sys.version.split()[0], 'LIBDIR', sysconfig.get_config_var('LIBDIR'), 'torch', torch.__version__, 'cuda', torch.version.cuda)"
  python3 -c "import pegaflow;print('pegaflow package', pegaflow.__version__)"
  echo "console script: $(head -1 "$SITE/bin/pegaflow-server")"
} 2>&1 | tee "$OUT/env.txt"
/tmp/node .gpu-bundle/gpu/pegaflow-real.mjs --bin "$SITE/bin/pegaflow-server" --out /tmp/kvgate-real 2>&1 | tee "$OUT/console.txt"
rc=$?
if [ "${SKIP_SIGNALS:-0}" != 1 ]; then
  python3 test/gpu/pegaflow_signals.py --bin "$SITE/bin/pegaflow-server" --bin-direct "$SITE/pegaflow/pegaflow-server-py" 2>&1 | tee "$OUT/signals.jsonl"
fi
cp /tmp/kvgate-real/transcript.txt "$OUT/" 2>/dev/null
tar czf "$OUT/artifacts.tgz" -C /tmp kvgate-real
exit $rc
