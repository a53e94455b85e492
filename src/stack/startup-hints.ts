// What a server's dying words usually mean, for the start-up failure message:
// the log tail says what broke, the hint says what to do about it. Pure: the
// tail of the log in, one sentence (or nothing) out. Each pattern comes from
// a real server's output (see the test for the lines they were taken from).

interface KnownFailure {
  pattern: RegExp;
  hint: string;
}

const KNOWN_FAILURES: readonly KnownFailure[] = [
  {
    // pegaflow-server (cudarc) and anything else that dlopens the driver.
    pattern: /Unable to dynamically load the "cuda" shared library|libcuda\.so[.\d]*: cannot open shared object file/,
    hint: 'no NVIDIA driver (libcuda) is visible to it: run on a GPU machine (check nvidia-smi), or use --stack sim',
  },
  {
    pattern: /no CUDA-capable device is detected|CUDA_ERROR_NO_DEVICE|Found no NVIDIA driver on your system/,
    hint: 'no GPU is visible to it: check nvidia-smi, PEGA_DEVICE and VLLM_BASELINE_DEVICE',
  },
  {
    pattern: /out of memory|OutOfMemoryError|cudaErrorMemoryAllocation/i,
    hint: 'out of memory: another process may hold the GPU (nvidia-smi), or lower PEGA_POOL_SIZE / the vLLM memory settings',
  },
  {
    pattern: /unrecognized arguments:/,
    hint: 'vLLM rejected a flag: check VLLM_EXTRA_ARGS (for example --disable-log-requests was removed in vLLM 0.12)',
  },
  {
    pattern: /error: unexpected argument '[^']+' found/,
    hint: 'pegaflow-server rejected a flag: check PEGA_EXTRA_ARGS and PEGA_FLAG_DIALECT',
  },
  {
    pattern: /Address already in use|EADDRINUSE/,
    hint: 'a port it needs is taken: see the port settings (VLLM_PORT, VLLM_BASELINE_PORT, PEGA_PORT, PEGA_METRICS_PORT)',
  },
];

/** A hint for a server that exited while starting, from the tail of its log; undefined when nothing known matches. */
export function startupHint(logTail: string): string | undefined {
  return KNOWN_FAILURES.find((f) => f.pattern.test(logTail))?.hint;
}
