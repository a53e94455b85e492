#!/usr/bin/env python3
"""How a real pegaflow-server stops on SIGINT and on SIGTERM (issue 9).

Starts the server in a process group of its own, waits for GET /health, sends
one signal to the whole group (as kvgate's supervisor does), and reports, per
run: how it exited, how long it took, whether any process of the group is
left, and the last lines of its log. One JSON line per run on stdout.

Runs on the GPU machine. Usage:
  pegaflow_signals.py --bin /tmp/site/bin/pegaflow-server [--bin-direct /tmp/site/pegaflow/pegaflow-server-py]
With --bin-direct (the Rust binary the console script wraps), the binary is
also run without the Python wrapper, with the environment the wrapper gives it.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                text = f.read()
        except OSError:
            continue
        rest = text[text.rfind(")") + 2 :].split()
        if int(rest[2]) == pgid and rest[0] not in ("Z", "X"):
            pids.append(int(d))
    return pids


def run_once(cmd: list[str], sig: signal.Signals, env: dict, label: str, pool: str = "1gb") -> dict:
    grpc, http = free_port(), free_port()
    args = cmd + ["--addr", f"127.0.0.1:{grpc}", "--devices", "0", "--pool-size", pool, "--http-addr", f"127.0.0.1:{http}"]
    log = tempfile.NamedTemporaryFile("w+", delete=False, suffix=".log")
    t0 = time.time()
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    ready = None
    while time.time() - t0 < 120 and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=2) as r:
                if r.status == 200:
                    ready = time.time() - t0
                    break
        except Exception:
            time.sleep(0.2)
    out = {"run": label, "signal": sig.name, "pool": pool, "ready_s": None if ready is None else round(ready, 2)}
    if ready is None:
        proc.kill()
        proc.wait()
    else:
        members_before = group_alive(proc.pid)
        t1 = time.time()
        os.killpg(proc.pid, sig)
        try:
            code = proc.wait(timeout=20)
            out["exit"] = code if code >= 0 else f"signal {signal.Signals(-code).name}"
        except subprocess.TimeoutExpired:
            out["exit"] = "still running after 20 s"
        deadline = time.time() + 5
        while group_alive(proc.pid) and time.time() < deadline:
            time.sleep(0.05)
        out["stop_s"] = round(time.time() - t1, 2)
        out["group_before"] = len(members_before)
        left = group_alive(proc.pid)
        out["left"] = left
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    log.flush()
    with open(log.name) as f:
        out["log_tail"] = f.read().splitlines()[-6:]
    os.unlink(log.name)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bin-direct", default="")
    a = ap.parse_args()
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", "0"))
    runs = [([a.bin], signal.SIGINT, env, "console script"), ([a.bin], signal.SIGTERM, env, "console script")]
    if a.bin_direct:
        denv = dict(env)
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        denv["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in [libdir, env.get("LD_LIBRARY_PATH", "")] if p)
        runs += [([a.bin_direct], signal.SIGINT, denv, "binary"), ([a.bin_direct], signal.SIGTERM, denv, "binary")]
    for cmd, sig, e, label in runs:
        print(json.dumps(run_once(cmd, sig, e, label)), flush=True)
    # kvgate's default PEGA_POOL_SIZE: how long the real start takes with it.
    print(json.dumps(run_once([a.bin], signal.SIGINT, env, "console script", "50gb")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
