/**
 * Which processes or links a fault hits, from the cluster as it is at that moment. Random
 * choices were made when the faults were planned (plan.ts); a target that is not there now
 * (a worker still down from an earlier fault) makes the fault skipped, never aimed elsewhere.
 */
import type { Component, WorkerComponent } from "../../system/launcher/cluster.js";
import type { FaultProxy } from "../cluster/proxy.js";
import type { ClusterUnderTest as Cluster, LinkName } from "../cluster/under-test.js";
import type { Link as NetworkLink } from "../cluster/netns.js";
import type { Link, ProcessTarget, WorkerSelector } from "../scenario/schema.js";

export class NoTarget extends Error {
  override name = "NoTarget";
}

function selectWorkers(selector: WorkerSelector, cluster: Cluster, among: WorkerComponent[]): WorkerComponent[] {
  if (typeof selector === "number") {
    const name = `worker-${selector}` as WorkerComponent;
    if (!cluster.workers.includes(name)) throw new NoTarget(`there is no ${name}`);
    if (!among.includes(name)) throw new NoTarget(`${name} is not running`);
    return [name];
  }
  if (among.length === 0) throw new NoTarget("no worker is running");
  const byAge = [...among].sort((a, b) => cluster.process(a)!.startedAt - cluster.process(b)!.startedAt);
  switch (selector) {
    case "all": return among;
    case "random": throw new NoTarget("a random worker is drawn when the faults are planned");
    case "oldest": return [byAge[0]];
    case "newest": return [byAge[byAge.length - 1]];
  }
}

export function processTargets(target: ProcessTarget, cluster: Cluster): Component[] {
  if (typeof target === "string") {
    if (target === "redis" && !cluster.process("redis")) throw new NoTarget("the cluster uses an external Redis");
    if (!cluster.process(target)?.running) throw new NoTarget(`${target} is not running`);
    return [target];
  }
  if (cluster.mode === "local") throw new NoTarget("a local-mode cluster has no workers");
  return selectWorkers(target.worker, cluster, cluster.runningWorkers);
}

export function linkTargets(link: Link, cluster: Cluster): FaultProxy[] {
  const proxy = (name: string) => {
    const found = cluster.link(name);
    if (!found) throw new NoTarget(`the cluster has no fault proxy on the link ${name}`);
    return found;
  };
  if ("clientLink" in link) throw new NoTarget("the link from the harness's clients to the API has no fault proxy: it takes packet faults (partition, loss, delay, reorder) in a target run");
  if ("redisLink" in link) {
    return (link.redisLink === "all" ? ["api", "dispatcher"] : [link.redisLink]).map((component) => proxy(`redis-${component}`));
  }
  if (cluster.mode === "local") throw new NoTarget("a local-mode cluster has no worker links");
  return selectWorkers(link.workerLink, cluster, cluster.workers.filter((worker) => cluster.link(worker))).map(proxy);
}

/** The veth pairs a packet fault acts on, with a name for each; NoTarget saying why when the cluster has none there. */
export function networkLinkTargets(link: Link, cluster: Cluster): { name: LinkName; link: NetworkLink; description: string }[] {
  let names: LinkName[];
  if ("clientLink" in link) names = ["client-api"];
  else if ("redisLink" in link) names = link.redisLink === "all" ? ["redis-api", "redis-dispatcher"] : [`redis-${link.redisLink}`];
  else if (cluster.mode === "local") throw new NoTarget("a local-mode cluster has no worker links");
  else names = selectWorkers(link.workerLink, cluster, cluster.workers);
  return names.map((name) => {
    const found = cluster.networkLink(name);
    if ("why" in found) throw new NoTarget(found.why);
    return { name, ...found };
  });
}
