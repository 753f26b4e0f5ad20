/**
 * Injecting one fault: kill, pause, restart a process, or add latency, a cut or a one-way
 * blackhole on a link. Each injected fault ends by itself (after its `for` or `restartAfter`)
 * or when healed, whichever comes first. Ending a fault never throws: a process that does
 * not come back is reported to `onProblem` (the nemesis records it) and the fault still ends.
 */
import type { Component } from "../../system/launcher/cluster.js";
import type { Cluster } from "../cluster/cluster.js";
import type { UntimedFault } from "../scenario/schema.js";
import { linkTargets, processTargets } from "./targets.js";

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
  }
}
