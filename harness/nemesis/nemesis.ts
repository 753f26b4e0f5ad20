/**
 * The nemesis: plays a scenario's faults on a timeline from the start of the workload,
 * records each one's start and end in the history, and heals everything on request (every
 * fault ended, every stopped process restarted) so the cluster can drain.
 */
import type { Cluster, Component } from "../cluster/cluster.js";
import type { History } from "../history/history.js";
import { ShuffledBag, type Random } from "../random.js";
import type { Fault, UntimedFault } from "../scenario/schema.js";
import { injectFault, type ActiveFault } from "./faults.js";

export class Nemesis {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly active = new Map<number, ActiveFault>();
  private readonly injecting = new Set<Promise<void>>();
  private nextFault = 0;
  private readonly bags = new Map<Fault, ShuffledBag<UntimedFault>>();
  private stopped = false;

  constructor(
    private readonly faults: readonly Fault[],
    private readonly cluster: Cluster,
    private readonly history: History,
    private readonly random: Random,
  ) {}

  /** The faults in force now, for the progress line. */
  get current(): string[] {
    return [...this.active.values()].map((fault) => fault.description);
  }

  /** Schedules every fault; `workloadMs` bounds repeating ones without an `until`. */
  start(workloadMs: number): void {
    for (const fault of this.faults) {
      if (fault.at !== undefined) {
        this.schedule(fault, fault.at);
        continue;
      }
      const every = fault.every!;
      const until = fault.until ?? workloadMs;
      for (let at = fault.from ?? every; at <= until; at += every) this.schedule(fault, at);
    }
  }

  /** No more faults; end those in force and restart whatever does not run. */
  async heal(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.injecting]);
    await Promise.allSettled([...this.active.values()].map((fault) => fault.heal()));
    for (const component of ["redis", "api", "dispatcher", ...this.cluster.workers] as Component[]) {
      const process = this.cluster.process(component);
      if (process?.isPaused) this.cluster.resume(component);
      if (process && !process.running) await this.cluster.restart(component);
    }
    for (const proxy of this.cluster.links.values()) proxy.heal();
  }

  /** One fault of a random rule: each of its list once before any again, so a long enough run meets every kind. */
  private draw(rule: Extract<Fault, { action: "random" }>): UntimedFault {
    let bag = this.bags.get(rule);
    if (!bag) this.bags.set(rule, (bag = new ShuffledBag(rule.among, this.random)));
    return bag.next();
  }

  private schedule(fault: Fault, at: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      const injection = this.inject(fault);
      this.injecting.add(injection);
      void injection.finally(() => this.injecting.delete(injection));
    }, at);
    this.timers.add(timer);
  }

  private async inject(fault: Fault): Promise<void> {
    const id = this.nextFault++;
    // The fault starts when it is injected, not when injecting it returns (a kill waits for the exit).
    const startedAt = this.history.now();
    let active: ActiveFault;
    try {
      const chosen = fault.action === "random" ? this.draw(fault) : fault;
      active = await injectFault(chosen, this.cluster, this.random);
    } catch (error) {
      const description = `${fault.action} skipped: ${(error as Error).message}`;
      this.history.record({ type: "fault", phase: "start", fault: id, description, t: startedAt });
      this.history.record({ type: "fault", phase: "end", fault: id, description });
      return;
    }
    this.history.record({ type: "fault", phase: "start", fault: id, description: active.description, targets: active.targets, crashed: active.crashed, t: startedAt });
    this.active.set(id, active);
    await active.ended.catch(() => {});
    this.active.delete(id);
    this.history.record({ type: "fault", phase: "end", fault: id, description: active.description });
  }
}
