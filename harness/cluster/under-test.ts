/**
 * What the runner and the nemesis need of a cluster, whatever runs it: faaslab through its own
 * launcher (cluster.ts, with fault proxies), or any target file (target-cluster.ts, in network
 * namespaces). Components are named alike in both: redis, api, dispatcher, worker-<i>.
 */
import type { Component, WorkerComponent } from "../../system/launcher/cluster.js";
import type { DispatcherMode } from "../../system/modes.js";
import type { Link } from "./netns.js";
import type { FaultableProcess } from "./process.js";
import type { FaultProxy } from "./proxy.js";

/**
 * The links between components, as faults name them: the harness's clients to the API, the
 * API and the dispatcher to Redis, each worker to the dispatcher.
 */
export type LinkName = "client-api" | "redis-api" | "redis-dispatcher" | WorkerComponent;

/** A real link (a veth pair) for packet faults, or why the cluster has none there. */
export type NetworkLink = { link: Link; description: string } | { why: string };

export interface ClusterUnderTest {
  readonly mode: DispatcherMode;
  /** Where the harness's clients send their requests. */
  readonly apiUrl: string;
  /** Where the components run, for the report (target clusters). */
  readonly placement?: string;
  /** The run's directory, with a `<component>.log` per component. */
  readonly dir: string;
  /** Every worker started so far (also those killed since). */
  readonly workers: WorkerComponent[];
  readonly runningWorkers: WorkerComponent[];
  process(component: Component): FaultableProcess | undefined;
  kill(component: Component, signal?: NodeJS.Signals): Promise<void>;
  pause(component: Component): void;
  resume(component: Component): void;
  /** Stops a component if it runs, then starts it again (on the same ports and data). */
  restart(component: Component): Promise<void>;
  /** The TCP fault proxy on a link, where the cluster has them. */
  link(name: string): FaultProxy | undefined;
  readonly links: ReadonlyMap<string, FaultProxy>;
  /** The veth pair a link runs over, for packet faults (partition, loss, delay, reorder). */
  networkLink(name: LinkName): NetworkLink;
  /** Stops everything and removes what the cluster made (processes, namespaces, its directory). */
  stop(): Promise<void>;
}
