// Free TCP ports picked by the kernel (listen on port 0, read it, close). The
// window between close() and the server binding it is acceptable on one
// machine; callers that start many servers pick all ports first.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the port the kernel picked'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** n distinct free ports, none of them in `avoid`. */
export async function freePorts(n: number, avoid: ReadonlySet<number> = new Set()): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) {
    const p = await freePort();
    if (!avoid.has(p)) ports.add(p);
  }
  return [...ports];
}
