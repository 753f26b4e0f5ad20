/**
 * Real network faults on a link (a veth pair from netns.ts): a partition (every packet dropped,
 * both ways or one way) and packet loss with nftables rules, delay with jitter and reordering
 * with `tc qdisc netem`. Rules go into a table of their own in a namespace at one end of the link
 * (never into the root namespace's nftables); netem goes on the sending device's egress. Each
 * fault's `heal()` deletes exactly what it added, and checks the devices' qdiscs are back to
 * what they were.
 *
 * Directions name the link's ends: "a->b" drops/delays what a sends to b. For a namespace's
 * uplink, a is the root (the harness) and b the namespace.
 */
import { execFileSync } from "node:child_process";
import { findExecutable } from "../../system/paths.js";
import type { Link, LinkEnd, NetworkNamespace } from "./netns.js";

export type Direction = "both" | "a->b" | "b->a";

export interface LinkFault {
  readonly description: string;
  /** Removes the fault; the link is as it was. Idempotent. */
  heal(): void;
}

export interface FaultSupport {
  nftables: { available: boolean; reason?: string };
  netem: { available: boolean; reason?: string };
}

const NFT = findExecutable("nft");
const TC = findExecutable("tc");
const IP = findExecutable("ip") ?? "ip";
let support: FaultSupport | undefined;
let faultCounter = 0;

export class LinkFaultUnsupported extends Error {
  override name = "LinkFaultUnsupported";
}

/**
 * What this machine can do, probed inside `ns` once: nftables (partition, loss) and the kernel's
 * netem qdisc (delay, jitter, reordering; a kernel built without CONFIG_NET_SCH_NETEM has none).
 */
export function linkFaultSupport(ns: NetworkNamespace): FaultSupport {
  if (support) return support;
  const nftables = !NFT
    ? { available: false, reason: "no `nft` on PATH (apt-get install nftables)" }
    : probe(() => runIn(ns.name, NFT, ["list", "tables"]), "nftables");
  const netem = !TC
    ? { available: false, reason: "no `tc` on PATH (iproute2)" }
    : probe(() => {
        runIn(ns.name, TC, ["qdisc", "add", "dev", "lo", "root", "handle", "1:", "netem", "delay", "1ms"]);
        runIn(ns.name, TC, ["qdisc", "del", "dev", "lo", "root"]);
      }, "netem");
  return (support = { nftables, netem });
}

function probe(action: () => void, what: string): { available: boolean; reason?: string } {
  try {
    action();
    return { available: true };
  } catch (error) {
    return { available: false, reason: `${what}: ${(error as Error).message}` };
  }
}

/** Drops every packet on the link in the direction(s) given, until healed. */
export function partition(link: Link, direction: Direction = "both"): LinkFault {
  return nftFault(link, direction, "drop", `partition ${describe(link, direction)}`);
}

/** Drops `percent` % of the packets (each one independently) in the direction(s) given. */
export function loss(link: Link, percent: number, direction: Direction = "both"): LinkFault {
  if (!(percent > 0 && percent <= 100)) throw new RangeError(`loss must be in (0, 100], not ${percent}`);
  const perTenThousand = Math.round(percent * 100);
  return nftFault(link, direction, `numgen random mod 10000 < ${perTenThousand} drop`, `loss ${percent}% ${describe(link, direction)}`);
}

export interface DelayOptions {
  ms: number;
  /** Each packet's delay varies by up to this much (normal distribution). */
  jitterMs?: number;
  direction?: Direction;
}

/** Delays every packet by `ms` (± jitter) on the sending side of each direction given. */
export function delay(link: Link, options: DelayOptions): LinkFault {
  const args = ["delay", `${options.ms}ms`];
  if (options.jitterMs) args.push(`${options.jitterMs}ms`, "distribution", "normal");
  return netemFault(link, options.direction ?? "both", args, `delay ${options.ms}±${options.jitterMs ?? 0} ms ${describe(link, options.direction ?? "both")}`);
}

export interface ReorderOptions {
  /** Packets sent at once (not delayed), which overtake the rest. */
  percent: number;
  /** The delay of the others. */
  delayMs: number;
  correlationPercent?: number;
  direction?: Direction;
}

/** Reorders: `percent` % of packets go at once, the rest `delayMs` later (netem reorder). */
export function reorder(link: Link, options: ReorderOptions): LinkFault {
  const args = ["delay", `${options.delayMs}ms`, "reorder", `${options.percent}%`, `${options.correlationPercent ?? 50}%`];
  return netemFault(link, options.direction ?? "both", args, `reorder ${options.percent}% (others ${options.delayMs} ms late) ${describe(link, options.direction ?? "both")}`);
}

function describe(link: Link, direction: Direction): string {
  const name = (end: LinkEnd) => `${end.namespace?.name ?? "root"}/${end.device}`;
  const [a, b] = [name(link.a), name(link.b)];
  return direction === "both" ? `${a} <-> ${b}` : direction === "a->b" ? `${a} -> ${b}` : `${b} -> ${a}`;
}

/**
 * An nftables table of its own in the namespace at one end: packets that end sends on its
 * device are matched on output (and forward, for routed traffic), what it receives on input.
 */
function nftFault(link: Link, direction: Direction, verdict: string, description: string): LinkFault {
  const ns = link.namespacedEnd.namespace;
  const sup = linkFaultSupport(ns);
  if (!sup.nftables.available) throw new LinkFaultUnsupported(`${description}: ${sup.nftables.reason}`);
  const end = link.namespacedEnd;
  const endIsA = end === link.a;
  // Which ways, seen from `end`: "out" = what it sends, "in" = what it receives.
  const ways = direction === "both" ? ["in", "out"] : (direction === "a->b") === endIsA ? ["out"] : ["in"];
  const table = `faaslab_fault_${process.pid}_${++faultCounter}`;
  const lines = [`table inet ${table} {`];
  if (ways.includes("in")) {
    lines.push(`  chain in { type filter hook input priority -300; policy accept; iifname "${end.device}" ${verdict}; }`);
    lines.push(`  chain fwdin { type filter hook forward priority -300; policy accept; iifname "${end.device}" ${verdict}; }`);
  }
  if (ways.includes("out")) {
    lines.push(`  chain out { type filter hook output priority -300; policy accept; oifname "${end.device}" ${verdict}; }`);
    lines.push(`  chain fwdout { type filter hook forward priority -300; policy accept; oifname "${end.device}" ${verdict}; }`);
  }
  lines.push("}");
  runIn(ns.name, NFT!, ["-f", "-"], lines.join("\n") + "\n");
  return healedOnce(description, () => {
    if (ns.exists()) runIn(ns.name, NFT!, ["delete", "table", "inet", table]);
  });
}

/** A fault whose `heal` acts once, however often it is called (the nemesis heals at the end as well). */
function healedOnce(description: string, heal: () => void): LinkFault {
  let healed = false;
  return {
    description,
    heal() {
      if (healed) return;
      healed = true;
      heal();
    },
  };
}

/** netem as the root qdisc of each sending device; heal deletes it and checks the qdisc is as before. */
function netemFault(link: Link, direction: Direction, netemArgs: string[], description: string): LinkFault {
  const sup = linkFaultSupport(link.namespacedEnd.namespace);
  if (!sup.netem.available) throw new LinkFaultUnsupported(`${description}: ${sup.netem.reason}`);
  const senders = direction === "both" ? [link.a, link.b] : direction === "a->b" ? [link.a] : [link.b];
  const before = senders.map((end) => qdiscs(end));
  const added: LinkEnd[] = [];
  try {
    for (const end of senders) {
      if (/qdisc netem/.test(qdiscs(end))) throw new Error(`${end.device} already has a netem fault: heal it first`);
      tcOn(end, ["qdisc", "add", "dev", end.device, "root", "netem", ...netemArgs]);
      added.push(end);
    }
  } catch (error) {
    for (const end of added) tcOn(end, ["qdisc", "del", "dev", end.device, "root"]);
    throw error;
  }
  return healedOnce(description, () => {
    senders.forEach((end, i) => {
      if (end.namespace && !end.namespace.exists()) return;
      tcOn(end, ["qdisc", "del", "dev", end.device, "root"]);
      const after = qdiscs(end);
      if (after !== before[i]) throw new Error(`healing ${description}: ${end.device}'s qdisc is "${after}", was "${before[i]}"`);
    });
  });
}

function qdiscs(end: LinkEnd): string {
  return tcOn(end, ["qdisc", "show", "dev", end.device]).trim();
}

function tcOn(end: LinkEnd, args: string[]): string {
  if (!TC) throw new LinkFaultUnsupported("no `tc` on PATH");
  return end.namespace ? runIn(end.namespace.name, TC, args) : run(TC, args);
}

function runIn(namespace: string, command: string, args: string[], input?: string): string {
  return run(IP, ["netns", "exec", namespace, command, ...args], input);
}

function run(command: string, args: string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`${command.split("/").pop()} ${args.join(" ")}: ${stderr || (error as Error).message}`);
  }
}
