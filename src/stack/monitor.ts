// Watches servers while tests run, so a dead or hung server aborts the test
// within seconds instead of surfacing as request timeouts minutes later.
import { httpOk } from './readiness.ts';
import type { ServerEndpoint, ServerRole } from './stack.ts';

export interface MonitorOptions {
  intervalS: number;
  /** Consecutive failed health checks that declare a server down. */
  failuresToDeclare: number;
  probeTimeoutS: number;
  onDown(role: ServerRole, detail: string): void;
}

export interface Monitor {
  stop(): void;
}

/** Polls each endpoint's /health; calls onDown once per server after N consecutive failures. */
export function monitorHealth(endpoints: ServerEndpoint[], opts: MonitorOptions): Monitor {
  const failures = new Map<ServerRole, { count: number; last: string }>();
  const declared = new Set<ServerRole>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    await Promise.all(
      endpoints.map(async (ep) => {
        if (declared.has(ep.role)) return;
        const r = await httpOk(ep.healthUrl, opts.probeTimeoutS * 1000);
        if (r.ready) {
          failures.delete(ep.role);
          return;
        }
        const f = { count: (failures.get(ep.role)?.count ?? 0) + 1, last: r.detail };
        failures.set(ep.role, f);
        if (f.count >= opts.failuresToDeclare && !stopped) {
          declared.add(ep.role);
          opts.onDown(ep.role, `stopped answering /health (${f.count} checks in a row; last: ${f.last})`);
        }
      }),
    );
    if (!stopped) timer = setTimeout(tick, opts.intervalS * 1000);
  };
  timer = setTimeout(tick, opts.intervalS * 1000);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
