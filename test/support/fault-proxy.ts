/**
 * A TCP proxy that injects faults between the origin and a real storage server (wrangler's local
 * R2, the GCS emulator): pass traffic, refuse connections (server down), cut every connection
 * after N bytes upstream (a connection lost mid-upload), delay every chunk (a slow server), or
 * stall (a server that stops answering). Switchable while running.
 */

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export type Fault =
  | { kind: 'pass' }
  | { kind: 'refuse' }
  | { kind: 'cut-after'; bytes: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'stall' };

export interface FaultProxy {
  port: number;
  url: string;
  /** Changes the fault for new and open connections. */
  set(fault: Fault): void;
  /** Connections cut so far. */
  readonly cuts: number;
  stop(): Promise<void>;
}

/** Starts a proxy on a free port forwarding to 127.0.0.1:`targetPort`. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  let fault: Fault = { kind: 'pass' };
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (fault.kind === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let sent = 0;
    const forward = (from: Socket, to: Socket, counts: boolean) => {
      from.on('data', (chunk: Buffer) => {
        const current = fault;
        if (current.kind === 'stall') return; // swallowed: the peer waits forever
        if (current.kind === 'refuse') {
          cuts += 1;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (counts && current.kind === 'cut-after') {
          sent += chunk.length;
          if (sent > current.bytes) {
            cuts += 1;
            client.destroy();
            upstream.destroy();
            return;
          }
        }
        if (current.kind === 'delay') {
          from.pause();
          setTimeout(() => {
            if (!to.destroyed) to.write(chunk);
            from.resume();
          }, current.ms);
          return;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
    };
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('Expected the fault proxy to listen on a TCP port');
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    set: (next) => {
      fault = next;
      if (next.kind === 'refuse') for (const socket of sockets) socket.destroy();
    },
    get cuts() {
      return cuts;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
