import { once } from 'node:events';
import net from 'node:net';

export type ProxyMode = 'forward' | 'refuse';

export interface ProxyStats {
  /** Connections accepted and forwarded to the target. */
  accepted: number;
  /** Connections destroyed by cut(). */
  cut: number;
}

/**
 * A loopback TCP proxy for fault injection between a program and PostgreSQL: it refuses
 * connections (nothing listens on its port), forwards them, delays every chunk in both directions,
 * or cuts every open connection at once.
 */
export class TcpProxy {
  readonly stats: ProxyStats = { accepted: 0, cut: 0 };
  #server: net.Server | undefined;
  #port = 0;
  #latencyMs = 0;
  readonly #pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  /** The proxy's port on 127.0.0.1; stays the same across refuse() and forward(). */
  get port(): number {
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#server ? 'forward' : 'refuse';
  }

  /** Binds a free port; starts forwarding unless mode is 'refuse'. */
  async start(mode: ProxyMode = 'forward'): Promise<this> {
    await this.#listen(0);
    if (mode === 'refuse') await this.refuse();
    return this;
  }

  /** Forwards new connections again (re-binds the same port). */
  async forward(): Promise<void> {
    if (!this.#server) await this.#listen(this.#port);
  }

  /** Stops listening, so connections are refused (ECONNREFUSED); open ones are cut too. */
  async refuse(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Delays every chunk by ms in each direction from now on; 0 removes the delay. */
  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Destroys every open connection, both sides, as a network cut would. */
  cut(): number {
    let n = 0;
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
      n++;
    }
    this.#pairs.clear();
    this.stats.cut += n;
    return n;
  }

  /** Connections open through the proxy now. */
  get openConnections(): number {
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  async #listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.#accept(client));
    server.listen({ host: '127.0.0.1', port, exclusive: true });
    await once(server, 'listening');
    this.#port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  #accept(client: net.Socket): void {
    this.stats.accepted++;
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    this.#pipe(client, upstream);
    this.#pipe(upstream, client);
  }

  /** Copies from → to, each chunk held for the current latency, order kept. */
  #pipe(from: net.Socket, to: net.Socket): void {
    let lastDue = 0;
    from.on('data', (chunk: Buffer) => {
      const latency = this.#latencyMs;
      if (latency <= 0 && lastDue <= Date.now()) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const due = Math.max(Date.now() + latency, lastDue);
      lastDue = due;
      setTimeout(
        () => {
          if (!to.destroyed) to.write(chunk);
        },
        Math.max(0, due - Date.now()),
      );
    });
  }
}
