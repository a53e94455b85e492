"""TTFT client in the style of the old bash suite's simplified benchmark.

aiohttp, one coroutine per concurrent stream (closed loop: a stream sends its
next request when the previous one ends). Two readings per request:

- first_chunk_s: send -> first SSE `data:` line of any kind. This is what the
  bash suite reported as TTFT; it counts the role-only chunk
  (`{"delta": {"role": "assistant", "content": ""}}`).
- first_content_s: send -> first chunk whose delta carries text (what kvgate
  calls TTFT), read in the same loop so the two clients compare fairly.

Prints one JSON object on stdout. Used by test/bench/client-fidelity.bench.ts.
"""

import argparse
import asyncio
import json
import sys
import time

import aiohttp


async def one_request(session, url, body):
    start = time.perf_counter()
    first_chunk = None
    first_content = None
    async with session.post(url, json=body) as resp:
        if resp.status != 200:
            await resp.read()
            return {"ok": False, "error": f"HTTP {resp.status}"}
        # StreamReader iterates lines; each SSE event is `data: ...` + blank line.
        async for raw in resp.content:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            now = time.perf_counter()
            if first_chunk is None:
                first_chunk = now - start
            payload = line[5:].strip()
            if payload == b"[DONE]":
                break
            if first_content is None:
                chunk = json.loads(payload)
                choices = chunk.get("choices") or []
                if choices:
                    delta = choices[0].get("delta") or {}
                    if delta.get("content") or choices[0].get("text"):
                        first_content = now - start
    if first_content is None:
        return {"ok": False, "error": "no content chunk"}
    return {"ok": True, "first_chunk_s": first_chunk, "first_content_s": first_content}


async def run_round(session, url, body, concurrency, total):
    results = []
    next_index = 0

    async def stream():
        nonlocal next_index
        while next_index < total:
            next_index += 1
            try:
                results.append(await one_request(session, url, body))
            except Exception as exc:  # a failed request is a data point, not a crash
                results.append({"ok": False, "error": repr(exc)})

    started = time.perf_counter()
    await asyncio.gather(*(stream() for _ in range(concurrency)))
    return results, time.perf_counter() - started


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=0, help="requests sent first, not measured (opens the connections)")
    ap.add_argument("--max-tokens", type=int, default=4)
    ap.add_argument("--prompt", default="Say something.")
    args = ap.parse_args()

    url = f"{args.base_url}/v1/chat/completions"
    body = {
        "model": args.model,
        "messages": [{"role": "user", "content": args.prompt}],
        "max_tokens": args.max_tokens,
        "temperature": 0,
        "stream": True,
    }
    # One connection per concurrent stream, as the benchmark clients do; the
    # default limit (100) would queue requests inside the client at c > 100.
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=6 * 60 * 60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if args.warmup > 0:
            await run_round(session, url, body, args.concurrency, args.warmup)
        results, wall_s = await run_round(session, url, body, args.concurrency, args.requests)

    ok = [r for r in results if r["ok"]]
    json.dump(
        {
            "client": "python-aiohttp",
            "aiohttp": aiohttp.__version__,
            "python": sys.version.split()[0],
            "concurrency": args.concurrency,
            "requests": len(results),
            "failed": len(results) - len(ok),
            "errors": sorted({r["error"] for r in results if not r["ok"]})[:5],
            "wall_s": wall_s,
            "first_chunk_s": [r["first_chunk_s"] for r in ok],
            "first_content_s": [r["first_content_s"] for r in ok],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    asyncio.run(main())
