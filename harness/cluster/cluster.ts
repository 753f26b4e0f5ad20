/**
 * The cluster under test: the product's launcher (system/launcher/) with what the nemesis
 * needs on top. Any component can be killed with any signal, paused, resumed and restarted,
 * and with `faultProxies` every link runs through a fault proxy that can delay, cut or
 * blackhole it.
 */
import { LaunchedCluster, type Component, type LaunchOptions, type LinkTarget } from "../../system/launcher/cluster.js";
import { FaultableProcess } from "./process.js";
import { OneAtATime } from "./one-at-a-time.js";
import { FaultProxy } from "./proxy.js";
import type { ClusterUnderTest, NetworkLink } from "./under-test.js";

export interface ClusterOptions extends LaunchOptions {
  /**
   * Put a fault proxy on every link (each worker to the dispatcher; the API and the
   * dispatcher to Redis), so that network faults can be injected: see `link()`.
   */
  faultProxies?: boolean;
}

export class Cluster extends LaunchedCluster<FaultableProcess> implements ClusterUnderTest {
  private readonly faultProxies: boolean;
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly restarts = new OneAtATime<Component>();

  private constructor(options: ClusterOptions) {
    super(options, (spec) => new FaultableProcess(spec));
    this.faultProxies = options.faultProxies === true;
  }

  /** Starts every component and resolves once each is ready; on failure, stops what it started. */
  static override async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(options);
    await cluster.launch();
    return cluster;
  }

  /** Kills a component with a signal (default SIGKILL) and waits until it has exited. */
  async kill(component: Component, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.process(component)?.kill(signal);
  }

  /** SIGSTOP: the process keeps its sockets open but does nothing. */
  pause(component: Component): void {
    this.process(component)?.signal("SIGSTOP");
  }

  resume(component: Component): void {
    this.process(component)?.signal("SIGCONT");
  }

  /**
   * Stops a component if it still runs, then starts it again (Redis on the same port and
   * data). Restarts of one component run one after another, never two at once.
   */
  restart(component: Component): Promise<void> {
    return this.restarts.run(component, () => this.restartNow(component));
  }

  private async restartNow(component: Component): Promise<void> {
    await this.process(component)?.stop();
    if (component === "redis") await this.startRedis();
    else if (component === "api") await this.startApi();
    else if (component === "dispatcher") await this.startDispatcher();
    else await this.startWorker({ index: Number(component.slice("worker-".length)) });
  }

  /**
   * The fault proxy on a link (with `faultProxies`): "worker-<i>" (that worker to the
   * dispatcher), "redis-api" or "redis-dispatcher".
   */
  link(name: string): FaultProxy | undefined {
    return this.proxies.get(name);
  }

  /** Packet faults need components in network namespaces: a target run (target-cluster.ts). */
  networkLink(): NetworkLink {
    return { why: "faaslab's built-in launcher runs every component on the harness's loopback: packet faults need a target run in network namespaces (--target faaslab, with cluster.hosts: separate for the links between components); latency, cut and blackhole act through fault proxies" };
  }

  /** Every link's proxy, by name. */
  get links(): ReadonlyMap<string, FaultProxy> {
    return this.proxies;
  }

  /** Stops everything, links healed first so that workers can hand in their results. */
  override async stop(): Promise<void> {
    for (const proxy of this.proxies.values()) proxy.heal();
    await super.stop();
    await Promise.allSettled([...this.proxies.values()].map((proxy) => proxy.close()));
  }

  /** With `faultProxies`, each link gets its proxy the first time it is used and keeps it across restarts. */
  protected override async linkAddress(from: Component, to: LinkTarget, address: string): Promise<string> {
    if (!this.faultProxies) return address;
    const name = to === "redis" ? `redis-${from}` : from;
    const proxy = this.proxies.get(name) ?? (await this.addProxy(name, Number(new URL(address.replace(/^tcp:/, "http:")).port)));
    return `${to === "redis" ? "redis" : "tcp"}://${proxy.endpoint}`;
  }

  private async addProxy(name: string, upstreamPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(name, upstreamPort);
    await proxy.start();
    this.proxies.set(name, proxy);
    return proxy;
  }
}
