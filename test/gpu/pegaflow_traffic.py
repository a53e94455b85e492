#!/usr/bin/env python3
"""Drive a little KV traffic through a real pegaflow-server, as the vLLM
connector would, so its cache metrics are recorded: register a GPU KV tensor,
save blocks, query them back (hits), load them into other blocks, and check
the loaded bytes equal the saved ones. Prints one JSON line with what it saw.

Runs on the GPU machine (torch + the pegaflow-llm wheel). Usage:
  pegaflow_traffic.py --endpoint http://127.0.0.1:50055 --blocks 32 \
      [--http http://127.0.0.1:9091]
With --http, GET /instances is read while the instance is registered and put
in the report as "instances_while_registered" (the raw JSON text). With
--hold, the registered instance (id, layer, saved hashes, block ids) is printed
as one JSON line {"hold": ...} before it is unregistered, and the script waits
for a line on stdin: the caller can drive the server through its own client.
"""
import argparse
import hashlib
import json
import pickle
import sys
import time
import urllib.request
import uuid


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", default="http://127.0.0.1:50055")
    ap.add_argument("--blocks", type=int, default=32)
    ap.add_argument("--block-bytes", type=int, default=64 * 1024)
    ap.add_argument("--http", default="", help="PegaFlow HTTP base URL, to read /instances while registered")
    ap.add_argument("--hold", action="store_true", help="before unregistering, print {\"hold\": …} and wait for a line on stdin")
    args = ap.parse_args()

    import torch
    from pegaflow import EngineRpcClient, PyLoadState
    from pegaflow.ipc_wrapper import CudaIPCWrapper

    report = {"ok": False, "steps": [], "instance_id": None}

    def step(name, ok, detail=""):
        report["steps"].append({"name": name, "ok": bool(ok), "detail": str(detail)[:300]})
        return ok

    client = EngineRpcClient(args.endpoint)
    ok, msg = client.health()
    step("health", ok, msg)

    # Blocks-first KV tensor: [num_blocks, bytes_per_block] of uint8 on GPU 0.
    total_blocks = args.blocks * 2
    kv = torch.zeros((total_blocks, args.block_bytes), dtype=torch.uint8, device="cuda:0")
    src = torch.randint(0, 255, (args.blocks, args.block_bytes), dtype=torch.uint8, device="cuda:0")
    kv[: args.blocks] = src
    torch.cuda.synchronize()

    instance = f"kvgate-gpu-{uuid.uuid4().hex[:8]}"
    report["instance_id"] = instance
    wrapper = pickle.dumps(CudaIPCWrapper(kv))
    ok, msg = client.register_context_batch(
        instance, "kvgate", 0, 0, 1, 1, 0,
        ["layer.0"], [wrapper], [total_blocks], [args.block_bytes], [0], [1],
        "direct", False,
    )
    if not step("register_context_batch", ok, msg):
        print(json.dumps(report))
        return 1
    session = None
    try:
        session = client.start_session_watcher(instance, "kvgate", 1, 1)
        step("start_session_watcher", True)
    except Exception as e:  # older/newer signatures: not essential for metrics
        step("start_session_watcher", False, e)

    if args.http:
        try:
            with urllib.request.urlopen(args.http.rstrip("/") + "/instances", timeout=10) as r:
                text = r.read().decode()
            report["instances_while_registered"] = text
            step("GET /instances lists the registered instance", instance in json.loads(text).get("instances", []), text)
        except Exception as e:
            step("GET /instances lists the registered instance", False, e)

    hashes = []
    parent = b""
    for i in range(args.blocks):
        parent = hashlib.sha256(parent + i.to_bytes(4, "little")).digest()
        hashes.append(parent)
    ok, msg = client.save(instance, 0, 0, 0, [("layer.0", list(range(args.blocks)), hashes)])
    step("save", ok, msg)

    # Saves land asynchronously: poll until every block is queryable.
    hit, lease = 0, b""
    deadline = time.time() + 30
    while time.time() < deadline:
        res = client.query_prefetch(instance, hashes, f"req-{uuid.uuid4().hex[:8]}")
        n = getattr(res, "num_hit_blocks", None)
        if n is not None:
            hit, lease = n, res.lease
            if hit == args.blocks:
                break
            if lease:
                client.release(lease)
                lease = b""
        time.sleep(0.2)
    step("query_prefetch hits all saved blocks", hit == args.blocks, f"{hit}/{args.blocks}")

    if hit == args.blocks and lease:
        state = PyLoadState()
        targets = [[args.blocks + i for i in range(args.blocks)]]
        ok, msg = client.load(instance, 0, 0, state.shm_name(), [["layer.0"]], [(lease, targets)])
        step("load", ok, msg)
        t0 = time.time()
        while not state.is_ready() and time.time() - t0 < 30:
            time.sleep(0.01)
        torch.cuda.synchronize()
        same = bool(torch.equal(kv[args.blocks :], src))
        step("loaded bytes equal saved bytes", same)

    # A miss may first answer QueryLoading (an SSD lookup under way): poll as the connector does.
    outcomes = []
    deadline = time.time() + 10
    while True:
        miss = client.query_prefetch(instance, [hashlib.sha256(b"never-saved").digest()], "req-miss")
        outcomes.append(type(miss).__name__ + (f"({miss.num_hit_blocks})" if hasattr(miss, "num_hit_blocks") else ""))
        if hasattr(miss, "num_hit_blocks") or time.time() > deadline:
            break
        time.sleep(0.1)
    step("query of an unknown block misses", getattr(miss, "num_hit_blocks", -1) == 0, " ".join(outcomes[:3] + (["…", outcomes[-1]] if len(outcomes) > 3 else [])))
    if getattr(miss, "lease", b""):
        client.release(miss.lease)

    if args.hold:
        # Hand the registered instance to the caller (kvgate's own gRPC client),
        # then wait for a line on stdin before unregistering.
        hold = {"instance": instance, "layer": "layer.0", "saved_hashes": [h.hex() for h in hashes], "block_ids": list(range(args.blocks))}
        print(json.dumps({"hold": hold}), flush=True)
        sys.stdin.readline()

    ok, msg = client.unregister_context(instance)
    step("unregister_context", ok, msg)
    report["ok"] = all(s["ok"] for s in report["steps"] if s["name"] != "start_session_watcher")
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
