/**
 * Injecting one fault: kill, pause, restart a process, or add latency, a cut or a one-way
 * blackhole on a link. Each injected fault ends by itself (after its `for` or `restartAfter`)
 * or when healed, whichever comes first. Ending a fault never throws: a process that does
 * not come back is reported to `onProblem` (the nemesis records it) and the fault still ends.
 */
import type { Component } from "../../system/launcher/cluster.js";
import { delay, loss, partition, reorder, type Direction, type LinkFault } from "../cluster/link-faults.js";
import type { ClusterUnderTest as Cluster } from "../cluster/under-test.js";
import type { UntimedFault } from "../scenario/schema.js";
import { linkTargets, networkLinkTargets, NoTarget, processTargets } from "./targets.js";

export interface ActiveFault {
  description: string;
  /** What it hits: components ("api", "worker-1"…) or links ("redis-api", "worker-1"…). */
  targets: string[];
  /** The processes it killed with SIGKILL (a crash), for checkers that reason about what a crash may lose. */
  crashed: Component[];
  /** Resolves when the fault is over (the process is back or failed to come back, the link is healed); never rejects. */
  ended: Promise<void>;
  /** Ends the fault now; never rejects. */
  heal(): Promise<void>;
}

/** Told what went wrong while ending a fault (a restart that failed). */
export type ProblemSink = (description: string) => void;

const seconds = (ms: number) => `${ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s` : `${ms} ms`}`;

/** A fault that lasts `ms` (or until healed), then runs `end` once; what `end` throws goes to `onProblem`. */
function timed(
  description: string, targets: string[], ms: number | undefined, end: () => Promise<void> | void, onProblem: ProblemSink, crashed: Component[] = [],
): ActiveFault {
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  let done = false;
  const heal = async () => {
    if (done) return ended;
    done = true;
    clearTimeout(timer);
    try {
      await end();
    } catch (error) {
      onProblem(`${description}: ${(error as Error).message}`);
    } finally {
      finish();
    }
  };
  const timer = ms === undefined ? undefined : setTimeout(() => void heal(), ms);
  return { description, targets, crashed, ended, heal };
}

/** Restarts what is not running, Redis first (the others need it), then one at a time as an operator would; every failure is named. */
async function restartAll(cluster: Cluster, components: Component[]): Promise<void> {
  const ordered = [...components].sort((a, b) => Number(b === "redis") - Number(a === "redis"));
  const failures: string[] = [];
  for (const component of ordered) {
    if (cluster.process(component)?.running) continue;
    await cluster.restart(component).catch((error: Error) => failures.push(`${component} did not come back: ${error.message}`));
  }
  if (failures.length > 0) throw new Error(failures.join("; "));
}

/** A scenario's direction as a link's: each link's a end is the side that connects (upstream is b). */
const DIRECTIONS: Record<"both" | "toUpstream" | "toDownstream", Direction> = { both: "both", toUpstream: "a->b", toDownstream: "b->a" };

type PacketFault = Extract<UntimedFault, { action: "partition" | "loss" | "delay" | "reorder" }>;

/** A packet fault on each link it names, every one healed if any cannot be made (a kernel without netem says so, and the fault is skipped). */
function injectPacketFault(fault: PacketFault, cluster: Cluster, onProblem: ProblemSink): ActiveFault {
  const links = networkLinkTargets(fault.link, cluster);
  const direction = DIRECTIONS[fault.direction];
  const made: LinkFault[] = [];
  try {
    for (const { link } of links) {
      if (fault.action === "partition") made.push(partition(link, direction));
      else if (fault.action === "loss") made.push(loss(link, fault.percent, direction));
      else if (fault.action === "delay") made.push(delay(link, { ms: fault.ms, jitterMs: fault.jitter, direction }));
      else made.push(reorder(link, { percent: fault.percent, delayMs: fault.ms, direction }));
    }
  } catch (error) {
    // What was made is undone, each part whatever the others do; the cause is what is reported.
    const undone = healEach(made);
    throw new NoTarget(`${(error as Error).message}${undone.length > 0 ? ` (and undoing the rest: ${undone.join("; ")})` : ""}`);
  }
  const way = fault.direction === "both" ? "" : ` (${fault.direction})`;
  const what = fault.action === "partition" ? "partition" : fault.action === "loss" ? `${fault.percent}% packet loss` : fault.action === "delay" ? `${fault.ms}±${fault.jitter} ms packet delay` : `reorder ${fault.percent}% (others ${fault.ms} ms late)`;
  const names = links.map((link) => link.name);
  return timed(`${what}${way} on ${links.map((link) => `${link.description} link`).join(", ")} for ${seconds(fault.for)}`, names, fault.for, () => {
    const failures = healEach(made);
    if (failures.length > 0) throw new Error(failures.join("; "));
  }, onProblem);
}

/** Heals every one, whatever the others do; the failures' messages. */
function healEach(faults: readonly LinkFault[]): string[] {
  const failures: string[] = [];
  for (const linkFault of faults) {
    try {
      linkFault.heal();
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  return failures;
}

/** Injects one fault now (its timing, if any, is the nemesis's business); throws NoTarget when it cannot happen. */
export async function injectFault(fault: UntimedFault, cluster: Cluster, onProblem: ProblemSink = () => {}): Promise<ActiveFault> {
  switch (fault.action) {
    case "kill": {
      const targets = processTargets(fault.target, cluster);
      await Promise.all(targets.map((target) => cluster.kill(target, fault.signal)));
      const signal = fault.signal === "SIGKILL" ? "kill -9" : "kill -TERM";
      const restart = fault.restartAfter === undefined ? "" : `, restarted after ${seconds(fault.restartAfter)}`;
      const crashed = fault.signal === "SIGKILL" ? targets : [];
      return timed(`${signal} ${targets.join(", ")}${restart}`, targets, fault.restartAfter, () => restartAll(cluster, targets), onProblem, crashed);
    }
    case "pause": {
      const targets = processTargets(fault.target, cluster);
      for (const target of targets) cluster.pause(target);
      return timed(`pause ${targets.join(", ")} for ${seconds(fault.for)}`, targets, fault.for, () => {
        for (const target of targets) cluster.resume(target);
      }, onProblem);
    }
    case "restart": {
      const targets = processTargets(fault.target, cluster);
      const restarting = (async () => {
        for (const target of targets) await cluster.restart(target);
      })();
      // Observed here so a failure is never an unhandled rejection; `end` reports it.
      restarting.catch(() => {});
      const active = timed(`restart ${targets.join(", ")}`, targets, undefined, () => restarting, onProblem);
      void restarting.then(() => active.heal(), () => active.heal());
      return active;
    }
    case "latency":
    case "cut":
    case "blackhole": {
      const proxies = linkTargets(fault.link, cluster);
      for (const proxy of proxies) {
        if (fault.action === "latency") proxy.addLatency(fault.ms);
        else if (fault.action === "cut") proxy.cut();
        else proxy.blackhole(fault.direction);
      }
      const what = fault.action === "latency" ? `+${fault.ms} ms latency` : fault.action === "cut" ? "cut" : `blackhole ${fault.direction}`;
      return timed(`${what} on ${proxies.map((p) => `${p.name} link`).join(", ")} for ${seconds(fault.for)}`, proxies.map((p) => p.name), fault.for, () => {
        for (const proxy of proxies) proxy.heal();
      }, onProblem);
    }
    case "partition":
    case "loss":
    case "delay":
    case "reorder":
      return injectPacketFault(fault, cluster, onProblem);
  }
}
