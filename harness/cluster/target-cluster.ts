/**
 * A cluster run from a target file (targets/<name>.yaml): each component's command with its
 * placeholders filled in, started as a real process, ready by the target's readiness, stopped
 * by its signal. Kill, pause and restart act on the processes as in faaslab's own cluster.
 *
 * Placement: with network namespaces (root and `ip`), the whole cluster, Redis included, runs
 * in a namespace of its own (cluster.hosts: shared), or each component in one of its own with
 * a veth pair for each link between components (separate: as on separate machines, so that a
 * packet fault acts on exactly one link). The harness reaches a namespace through its uplink,
 * where the target's ports are forwarded to the namespace's loopback (see `exposeLoopback`), so
 * an implementation that listens on 127.0.0.1 is reached too. Without namespaces, only a target
 * whose ports are all "given" can run, on the harness's loopback.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Component, WorkerComponent } from "../../system/launcher/cluster.js";
import { NODE_ARGS } from "../../system/launcher/cluster.js";
import type { ProcessSpec } from "../../system/launcher/process.js";
import { defaultPython } from "../../system/executor/python-jail.js";
import type { DispatcherMode } from "../../system/modes.js";
import { cliPath } from "../../system/paths.js";
import { commandLine, expandTemplate, ownPort, placeholdersIn, type LoadedTarget } from "../target/load.js";
import type { ComponentKey, Hosts, Placeholder, PortName, Readiness, TargetProcess } from "../target/schema.js";
import { namespacesAvailable, NetworkNamespace, type Link } from "./netns.js";
import { OneAtATime } from "./one-at-a-time.js";
import { FaultableProcess } from "./process.js";
import type { FaultProxy } from "./proxy.js";
import type { ClusterUnderTest, LinkName, NetworkLink } from "./under-test.js";

export interface TargetClusterOptions {
  target: LoadedTarget;
  mode: DispatcherMode;
  workers: { count: number; executors: number };
  hosts?: Hosts;
  /** The interpreter in {python} (default: the OS's CPython). */
  python?: string;
  /**
   * Where the components' logs go (and, under data/, their own files, removed at the end): a
   * run's own folder, which no kill of the harness leaves behind in /tmp. Default: a temporary
   * directory, removed at the end.
   */
  dir?: string;
}

/** Why a target cannot run here as asked (a mode it lacks, fixed ports without namespaces): reported not applicable, never as a pass. */
export class NotApplicable extends Error {
  override name = "NotApplicable";
}

/** Whether a target can run in this mode and placement on this machine; the reason when not. */
export function notApplicableReason(loaded: LoadedTarget, mode: DispatcherMode, hosts: Hosts): string | undefined {
  const { target } = loaded;
  if (!target.modes.includes(mode)) return `${target.name} has no ${mode} mode (it supports ${target.modes.join(", ")})`;
  if (!target.hosts.includes(hosts)) return `${target.name} cannot run its components ${hosts === "separate" ? "on separate hosts" : "on one host"} (its target file lists hosts: ${target.hosts.join(", ")})`;
  const available = namespacesAvailable();
  if (available.available) return undefined;
  const fixed = (Object.entries(target.ports) as [PortName, number | "given"][]).filter(([, port]) => port !== "given");
  if (hosts === "separate") return `cluster.hosts: separate needs network namespaces, and ${available.reason}`;
  if (fixed.length > 0) {
    return `${target.name} uses fixed ports (${fixed.map(([name, port]) => `${name} ${port}`).join(", ")}), which need a network namespace of its own, and ${available.reason}`;
  }
  return undefined;
}

interface Running {
  key: ComponentKey;
  spec: TargetProcess;
  process: FaultableProcess;
}

/** The port a component listens on (a local dispatcher and the workers have none). */
const ownPortOf = (component: Component, mode: DispatcherMode): PortName | undefined =>
  component.startsWith("worker-") ? undefined : ownPort(component === "dispatcher" ? `dispatcher.${mode}` : (component as "redis" | "api"));
/** Which component listens on a port. */
const ownerOf = (port: PortName): Component => (port === "dispatcher" ? "dispatcher" : port);

export class TargetCluster implements ClusterUnderTest {
  readonly dir: string;
  readonly mode: DispatcherMode;
  readonly hosts: Hosts;
  apiUrl = "";
  readonly links: ReadonlyMap<string, FaultProxy> = new Map();
  private readonly ports = {} as Record<PortName, number>;
  private readonly components = new Map<Component, Running>();
  /** shared: one namespace, under "cluster"; separate: one per component. */
  private readonly namespaces = new Map<Component | "cluster", NetworkNamespace>();
  private readonly netLinks = new Map<LinkName, Link>();
  private readonly restarts = new OneAtATime<Component>();
  private readonly python: string;
  private readonly ownsDir: boolean;

  private constructor(private readonly options: TargetClusterOptions, private readonly namespaced: boolean) {
    this.mode = options.mode;
    this.hosts = options.hosts ?? "shared";
    this.python = options.python ?? defaultPython();
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir !== undefined ? resolve(options.dir) : mkdtempSync(join(tmpdir(), `faaslab-target-${options.target.target.name}-`));
    mkdirSync(this.dir, { recursive: true });
  }

  /** Starts Redis, the API, the dispatcher and its workers; on failure, removes what it made and throws. */
  static async start(options: TargetClusterOptions): Promise<TargetCluster> {
    const hosts = options.hosts ?? "shared";
    const why = notApplicableReason(options.target, options.mode, hosts);
    if (why) throw new NotApplicable(why);
    const cluster = new TargetCluster(options, namespacesAvailable().available);
    try {
      await cluster.launch();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get placement(): string {
    if (!this.namespaced) return `on the harness's loopback, on ports it chose (no network namespaces: ${namespacesAvailable().reason})`;
    return this.hosts === "separate"
      ? "each component in a network namespace of its own, with a veth pair for each link"
      : "in a network namespace of its own (its Redis included), reached through a veth pair";
  }

  get target(): LoadedTarget["target"] {
    return this.options.target.target;
  }

  get workers(): WorkerComponent[] {
    return [...this.components.keys()].filter((name): name is WorkerComponent => name.startsWith("worker-"));
  }

  get runningWorkers(): WorkerComponent[] {
    return this.workers.filter((worker) => this.process(worker)?.running);
  }

  process(component: Component): FaultableProcess | undefined {
    return this.components.get(component)?.process;
  }

  /** The namespace a component runs in (undefined: the harness's own). */
  namespaceOf(component: Component): NetworkNamespace | undefined {
    return this.namespaces.get(this.hosts === "separate" ? component : "cluster");
  }

  async kill(component: Component, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.process(component)?.kill(signal);
  }

  pause(component: Component): void {
    this.process(component)?.signal("SIGSTOP");
  }

  resume(component: Component): void {
    this.process(component)?.signal("SIGCONT");
  }

  /** Stops a component if it runs, then starts it again with the same command, ports and data; one restart of a component at a time. */
  restart(component: Component): Promise<void> {
    return this.restarts.run(component, async () => {
      const running = this.components.get(component);
      if (!running) throw new Error(`${component} is not a component of this cluster`);
      await running.process.stop(running.spec.stop.grace);
      await running.process.start(startTimeout(running.spec.ready));
    });
  }

  link(): FaultProxy | undefined {
    return undefined;
  }

  networkLink(name: LinkName): NetworkLink {
    if (!this.namespaced) return { why: "this cluster runs on the harness's loopback (no network namespaces here), where packets cannot be dropped for one link" };
    if (name === "client-api") {
      const ns = this.namespaceOf("api")!;
      return { link: ns.uplink, description: "clients–API" };
    }
    if (this.hosts === "shared") return { why: `the cluster's components share one host, so the ${name} link is its loopback: packet faults between components need cluster.hosts: separate` };
    const link = this.netLinks.get(name);
    if (!link) return { why: `the cluster has no ${name} link (nothing connects there in ${this.mode} mode)` };
    return { link, description: name.startsWith("worker-") ? `${name}–dispatcher` : `${name.slice("redis-".length)}–Redis` };
  }

  /** Workers first, then the dispatcher and the API, Redis last; then the namespaces and the run's directory. */
  async stop(): Promise<void> {
    // Each group is given its grace and a margin, no more: a process whose children still hold
    // its output open has exited, and removing the namespace below kills whatever is left inside.
    const stopping = async (names: Component[]) => {
      const running = names.map((name) => this.components.get(name)).filter((r): r is Running => r !== undefined);
      const bound = Math.max(0, ...running.map((r) => r.spec.stop.grace)) + 2_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(running.map((r) => r.process.stop(r.spec.stop.grace))), new Promise((resolve) => (timer = setTimeout(resolve, bound)))]);
      clearTimeout(timer);
    };
    await stopping(this.workers);
    await stopping(["dispatcher", "api"]);
    await stopping(["redis"]);
    for (const ns of this.namespaces.values()) await ns.remove();
    this.namespaces.clear();
    if (process.env.FAAS_KEEP_LOGS) return;
    rmSync(this.ownsDir ? this.dir : join(this.dir, "data"), { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const { target } = this.options.target;
    for (const name of ["api", "redis", "dispatcher"] as const) {
      const port = target.ports[name];
      this.ports[name] = port === "given" ? await freePort() : port;
    }
    await this.placeComponents();
    await this.startComponent("redis", "redis", target.components.redis);
    await this.startComponent("api", "api", target.components.api);
    const dispatcher = target.components.dispatcher[this.mode];
    if (!dispatcher) throw new NotApplicable(`${target.name} has no ${this.mode} dispatcher`);
    await this.startComponent("dispatcher", `dispatcher.${this.mode}`, dispatcher);
    if (this.mode !== "local") {
      const worker = target.components[`${this.mode}-worker`];
      if (!worker) throw new NotApplicable(`${target.name} has no ${this.mode} worker`);
      await Promise.all(Array.from({ length: this.options.workers.count }, (_, index) => this.startComponent(`worker-${index}`, `${this.mode}-worker` as ComponentKey, worker)));
    }
    const apiHost = this.namespaceOf("api")?.address ?? "127.0.0.1";
    this.apiUrl = `http://${apiHost}:${this.ports.api}`;
  }

  /** Makes the namespaces, and for separate hosts a link for each pair of components that talk. */
  private async placeComponents(): Promise<void> {
    if (!this.namespaced) return;
    const name = this.target.name;
    if (this.hosts === "shared") {
      const ns = await NetworkNamespace.create({ name });
      this.namespaces.set("cluster", ns);
      ns.exposeLoopback([this.ports.api, this.ports.redis, this.ports.dispatcher]);
      return;
    }
    const placed: Component[] = ["redis", "api", "dispatcher"];
    if (this.mode !== "local") for (let i = 0; i < this.options.workers.count; i++) placed.push(`worker-${i}`);
    for (const component of placed) {
      const ns = await NetworkNamespace.create({ name: `${name}-${component}` });
      this.namespaces.set(component, ns);
      const port = ownPortOf(component, this.mode);
      if (port) ns.exposeLoopback([this.ports[port]]);
    }
    // Each link's a end is the side that connects, its b end the side that listens.
    const connectLink = async (name: LinkName, from: Component, to: Component) =>
      this.netLinks.set(name, await NetworkNamespace.connect(this.namespaces.get(from)!, this.namespaces.get(to)!));
    await connectLink("redis-api", "api", "redis");
    await connectLink("redis-dispatcher", "dispatcher", "redis");
    for (const component of placed) if (component.startsWith("worker-")) await connectLink(component as WorkerComponent, component, "dispatcher");
  }

  /** The address at which `from` reaches `to`'s host. */
  private addressOf(to: "redis" | "dispatcher", from: Component): string {
    if (this.hosts !== "separate" || !this.namespaced) return "127.0.0.1";
    const name = (to === "redis" ? `redis-${from}` : from) as LinkName;
    const link = this.netLinks.get(name);
    if (!link) throw new Error(`${from} has no link to ${to} on separate hosts: its command may not use {${to === "redis" ? "redisUrl" : "dispatcherUrl"}}`);
    return link.b.address;
  }

  private placeholderValues(component: Component, key: ComponentKey, used: Set<string>): Partial<Record<Placeholder, string | number>> {
    const { ports } = this;
    const dataDir = join(this.dir, "data", component);
    mkdirSync(dataDir, { recursive: true });
    const values: Partial<Record<Placeholder, string | number>> = {
      dir: this.options.target.dir, dataDir, redisPort: ports.redis, listen: this.namespaced ? "0.0.0.0" : "127.0.0.1", python: this.python,
    };
    if (used.has("redisUrl")) values.redisUrl = `redis://${this.addressOf("redis", component)}:${ports.redis}`;
    const own = ownPortOf(component, this.mode);
    if (own) values.port = ports[own];
    if (key === "api") values.apiPort = ports.api;
    if (key !== "redis" && key !== "api") values.mode = this.mode;
    if (key === "dispatcher.local" || key.endsWith("-worker")) values.executors = this.options.workers.executors;
    if (this.mode !== "local") {
      values.dispatcherPort = ports.dispatcher;
      // A worker's is where it connects; the dispatcher's own is where it binds.
      if (used.has("dispatcherUrl")) values.dispatcherUrl = `tcp://${component.startsWith("worker-") ? this.addressOf("dispatcher", component) : values.listen}:${ports.dispatcher}`;
    }
    if (component.startsWith("worker-")) values.worker = Number(component.slice("worker-".length));
    return values;
  }

  private async startComponent(component: Component, key: ComponentKey, spec: TargetProcess): Promise<void> {
    const words = typeof spec.command === "string" ? [spec.command] : spec.command;
    const used = new Set([...words, spec.cwd, ...Object.values(spec.env)].flatMap(placeholdersIn));
    const values = this.placeholderValues(component, key, used);
    const [program, ...args] = commandLine(spec, values);
    // `faas` is faaslab's own CLI: the compiled one, with the harness's Node (it need not be installed).
    const [command, argv] = program === "faas" ? [process.execPath, [...NODE_ARGS, cliPath, ...args]] : [program, args];
    const env = Object.fromEntries(Object.entries(spec.env).map(([name, value]) => [name, expandTemplate(value, values)]));
    const ns = this.namespaceOf(component);
    const logFile = join(this.dir, `${component}.log`);
    const processSpec: ProcessSpec = {
      name: component, command, args: argv, env, cwd: expandTemplate(spec.cwd, values), logFile, stopSignal: spec.stop.signal,
      ...this.readiness(component, spec.ready),
    };
    const launched = new FaultableProcess(ns ? ns.spec(processSpec) : processSpec);
    this.components.set(component, { key, spec, process: launched });
    await launched.start(startTimeout(spec.ready));
  }

  /** The target's readiness as the launcher checks it: a line of output, or a probe of a port, a URL, or a time running. */
  private readiness(component: Component, ready: Readiness): Pick<ProcessSpec, "readyWhen" | "readyProbe"> {
    if (ready.kind === "log") {
      const pattern = new RegExp(ready.pattern);
      return { readyWhen: (line) => (pattern.test(line) ? { line } : undefined) };
    }
    const never = () => undefined;
    if (ready.kind === "running") {
      return { readyWhen: never, readyProbe: (running) => waitWhile(running, ready.for).then(() => (running() ? {} : exited())) };
    }
    const portName = ready.port ?? ownPortOf(component, this.mode);
    if (!portName) throw new Error(`${component}: a ${ready.kind} readiness needs a port`);
    const host = this.namespaceOf(ownerOf(portName))?.address ?? "127.0.0.1";
    const port = this.ports[portName];
    const probe = ready.kind === "tcp" ? () => accepts(host, port) : () => answers(`http://${host}:${port}${ready.path}`);
    return {
      readyWhen: never,
      readyProbe: async (running) => {
        while (running()) {
          if (await probe()) return {};
          await delay(50);
        }
        return exited();
      },
    };
  }
}

/** A probe whose process exited never says ready: the launcher reports the exit. */
function exited(): Promise<Record<string, unknown>> {
  return new Promise(() => {});
}

/** How long a start may take: the readiness's timeout, or for `running` its time plus a margin. */
function startTimeout(ready: Readiness): number {
  return ready.kind === "running" ? ready.for + 10_000 : ready.timeout;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after `ms`, or as soon as the process is no longer running (the launcher then reports its exit). */
async function waitWhile(running: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (running() && Date.now() < end) await delay(Math.min(50, end - Date.now()));
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** A port free on the harness's loopback now (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
