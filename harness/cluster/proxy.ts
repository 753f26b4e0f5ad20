/**
 * A TCP proxy the harness puts on a link (a worker to its dispatcher, a component to Redis)
 * so that the nemesis can fault it, as Toxiproxy does, in Node and without root:
 * - latency: every chunk in both directions is delayed by `ms` (order is kept);
 * - cut: every connection is closed, and new ones are closed as soon as they open;
 * - blackhole: what one side sends is dropped while the connection stays open.
 * `heal()` removes every fault.
 */
import net from "node:net";

export type Direction = "toUpstream" | "toDownstream";

interface Piped {
  client: net.Socket;
  upstream: net.Socket;
}

export class FaultProxy {
  port = 0;
  private readonly server: net.Server;
  private readonly connections = new Set<Piped>();
  private latencyMs = 0;
  private isCut = false;
  private readonly blackholed = new Set<Direction>();

  constructor(readonly name: string, private readonly upstreamPort: number, private readonly upstreamHost = "127.0.0.1") {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The faults in force, for reports and progress lines. */
  get faults(): string[] {
    const faults: string[] = [];
    if (this.latencyMs) faults.push(`+${this.latencyMs} ms`);
    if (this.isCut) faults.push("cut");
    for (const direction of this.blackholed) faults.push(`blackhole ${direction}`);
    return faults;
  }

  addLatency(ms: number): void {
    this.latencyMs = ms;
  }

  cut(): void {
    this.isCut = true;
    for (const piped of this.connections) this.drop(piped);
  }

  blackhole(direction: Direction): void {
    this.blackholed.add(direction);
  }

  heal(): void {
    this.latencyMs = 0;
    this.isCut = false;
    this.blackholed.clear();
  }

  async close(): Promise<void> {
    // Refuse what connects while closing (a peer reconnecting would keep the server open).
    this.isCut = true;
    for (const piped of this.connections) this.drop(piped);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.isCut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    const piped = { client, upstream };
    this.connections.add(piped);
    this.forward(client, upstream, "toUpstream");
    this.forward(upstream, client, "toDownstream");
    for (const socket of [client, upstream]) {
      socket.on("error", () => this.drop(piped));
      socket.on("close", () => this.drop(piped));
    }
  }

  private forward(from: net.Socket, to: net.Socket, direction: Direction): void {
    let lastDue = 0;
    from.on("data", (chunk) => {
      if (this.blackholed.has(direction)) return;
      if (this.latencyMs === 0 && lastDue <= Date.now()) {
        to.write(chunk);
        return;
      }
      // Delayed chunks keep their order: none is due before the one sent ahead of it.
      const due = Math.max(Date.now() + this.latencyMs, lastDue);
      lastDue = due;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, due - Date.now());
    });
  }

  private drop(piped: Piped): void {
    if (!this.connections.delete(piped)) return;
    piped.client.destroy();
    piped.upstream.destroy();
  }
}
