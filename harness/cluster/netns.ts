/**
 * Network namespaces for a cluster: each one named `faaslab-<harness pid>-<n>` (so a later run
 * can tell whose it is), its loopback up, and a veth pair to the harness's (root) namespace with
 * a private /30 of its own, so a target's fixed ports (6379, 8000…) never meet the machine's
 * services or another run's. Processes start inside through `ip netns exec` (which execs in
 * place: the pid the launcher holds is the process's own, and setpriv's parent-death signal
 * still applies).
 *
 * Everything is removed whatever happens: `remove()`; an exit hook on a normal exit or
 * `process.exit` (the scenario runner's Ctrl-C ends that way); a detached watchdog that removes
 * the harness's namespaces once the harness is gone (SIGTERM, SIGKILL, a crash); and
 * `reapStaleNamespaces()`, for the start of a run, which removes any namespace whose owner pid
 * is no longer alive. Removing a namespace kills what runs inside it first (`ip netns pids`), so
 * the namespace and its veth really go.
 */
import { execFileSync, spawn } from "node:child_process";
import { execa } from "execa";
import { findExecutable } from "../../system/paths.js";
import type { ProcessSpec } from "../../system/launcher/process.js";

export const NAMESPACE_PREFIX = "faaslab-";
/** The /16 the /30s of links come from: 16,384 links of two addresses each. */
const POOL = [10, 213] as const;
const POOL_BLOCKS = 16_384;

export interface Availability {
  available: boolean;
  /** Why not, when not: "not root", "no `ip` on PATH", what the kernel said. */
  reason?: string;
}

const IP = findExecutable("ip");

let availability: Availability | undefined;

/**
 * Whether this process can make namespaces: root, `ip` on PATH, and a probe namespace that
 * could be made and removed. Cached; callers without it run only targets whose ports they choose.
 */
export function namespacesAvailable(): Availability {
  if (availability) return availability;
  if (process.platform !== "linux") return (availability = { available: false, reason: `network namespaces need Linux (this is ${process.platform})` });
  if (typeof process.getuid === "function" && process.getuid() !== 0) return (availability = { available: false, reason: "network namespaces need root (the harness runs as uid " + process.getuid() + ")" });
  if (!IP) return (availability = { available: false, reason: "no `ip` (iproute2) on PATH" });
  const probe = `${NAMESPACE_PREFIX}${process.pid}-probe`;
  try {
    ip(["netns", "add", probe]);
    ip(["netns", "del", probe]);
    availability = { available: true };
  } catch (error) {
    tryIp(["netns", "del", probe]);
    availability = { available: false, reason: `\`ip netns add\` failed: ${(error as Error).message}` };
  }
  return availability;
}

/** One end of a link: a device in a namespace (undefined: the root namespace) with its address. */
export interface LinkEnd {
  namespace: NetworkNamespace | undefined;
  device: string;
  address: string;
}

/** A veth pair with a /30 of its own: a–b, where a is the root end of a namespace's uplink. */
export class Link {
  constructor(
    readonly a: LinkEnd,
    readonly b: LinkEnd,
    /** The /30, e.g. "10.213.0.4/30". */
    readonly subnet: string,
    /** Which /30 of the pool it has. */
    readonly block: number,
  ) {}

  /** The end inside a namespace where rules for this link go (b, or a if b is the root). */
  get namespacedEnd(): LinkEnd & { namespace: NetworkNamespace } {
    const end = this.b.namespace ? this.b : this.a;
    if (!end.namespace) throw new Error(`link ${this.subnet} has no end in a namespace`);
    return end as LinkEnd & { namespace: NetworkNamespace };
  }

  /** Deletes the pair (both ends go together); nothing if it is already gone. */
  remove(): void {
    const end = this.namespacedEnd;
    if (end.namespace.exists()) tryIp(["-n", end.namespace.name, "link", "del", end.device]);
    claimedBlocks.delete(this.block);
  }
}

let counter = 0;
const live = new Set<NetworkNamespace>();
const claimedBlocks = new Set<number>();
let hooksInstalled = false;

export interface CreateOptions {
  /** A readable suffix: the namespace is `faaslab-<pid>-<n>-<name>`. */
  name?: string;
}

export class NetworkNamespace {
  /** The veth pair to the root namespace: a is the root end, b the end inside. */
  uplink!: Link;
  private removed = false;
  private readonly links = new Set<Link>();

  private constructor(readonly name: string) {}

  /** Makes a namespace with loopback up and a veth pair to the root namespace. */
  static async create(options: CreateOptions = {}): Promise<NetworkNamespace> {
    const available = namespacesAvailable();
    if (!available.available) throw new Error(`network namespaces are not available: ${available.reason}`);
    installHooks();
    const suffix = options.name ? `-${options.name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40)}` : "";
    const ns = new NetworkNamespace(`${NAMESPACE_PREFIX}${process.pid}-${++counter}${suffix}`);
    ip(["netns", "add", ns.name]);
    live.add(ns);
    try {
      ip(["-n", ns.name, "link", "set", "lo", "up"]);
      ns.uplink = makeLink(undefined, ns);
      ns.links.add(ns.uplink);
    } catch (error) {
      ns.removeSync();
      throw error;
    }
    return ns;
  }

  /** A veth pair directly between two namespaces, with a /30 of its own (a's end first). */
  static async connect(a: NetworkNamespace, b: NetworkNamespace): Promise<Link> {
    const link = makeLink(a, b);
    a.links.add(link);
    b.links.add(link);
    return link;
  }

  /** The in-namespace address the harness reaches (the inside end of the uplink). */
  get address(): string {
    return this.uplink.b.address;
  }

  /** The root end's address, which processes inside reach the harness at. */
  get hostAddress(): string {
    return this.uplink.a.address;
  }

  /** `command args` as run inside: for a ProcessSpec, or anything that spawns. */
  command(command: string, args: string[] = []): { command: string; args: string[] } {
    return { command: IP ?? "ip", args: ["netns", "exec", this.name, command, ...args] };
  }

  /** The same process spec, started inside this namespace (the launcher's setpriv wraps it as usual). */
  spec(spec: ProcessSpec): ProcessSpec {
    return { ...spec, ...this.command(spec.command, spec.args) };
  }

  /** Runs a command inside and resolves with its output; rejects on a non-zero exit unless `reject: false`. */
  async exec(command: string, args: string[] = [], options: { reject?: boolean; timeoutMs?: number; input?: string } = {}): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
    const inside = this.command(command, args);
    const result = await execa(inside.command, inside.args, { reject: options.reject ?? true, timeout: options.timeoutMs, input: options.input });
    return { stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? ""), exitCode: result.exitCode };
  }

  /**
   * Makes these ports of the namespace's loopback reachable at its uplink address: a packet for
   * `<address>:<port>` arriving on the uplink is rewritten to 127.0.0.1:<port> (nftables DNAT,
   * with route_localnet on), so an implementation that listens on 127.0.0.1 only, as student
   * code does, is still reached by the harness through the veth pair.
   */
  exposeLoopback(ports: readonly number[]): void {
    if (ports.length === 0) return;
    ip(["netns", "exec", this.name, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"]);
    const device = this.uplink.b.device;
    const rules = ports.map((port) => `    iifname "${device}" tcp dport ${port} dnat to 127.0.0.1:${port}`).join("\n");
    const table = `table ip faaslab_expose {\n  chain prerouting {\n    type nat hook prerouting priority -100; policy accept;\n${rules}\n  }\n}\n`;
    try {
      execFileSync(IP ?? "ip", ["netns", "exec", this.name, findExecutable("nft") ?? "nft", "-f", "-"], { input: table, stdio: ["pipe", "pipe", "pipe"] });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
      throw new Error(`exposing ports ${ports.join(", ")} of ${this.name} on its uplink (nftables): ${stderr || (error as Error).message}`);
    }
  }

  /** The pids of every process inside. */
  pids(): number[] {
    return namespacePids(this.name);
  }

  exists(): boolean {
    return listNamespaces().includes(this.name);
  }

  /** Kills everything inside, deletes its links and the namespace. */
  async remove(): Promise<void> {
    this.removeSync();
  }

  /** `remove()`, synchronously, for exit hooks. */
  removeSync(): void {
    if (this.removed) return;
    this.removed = true;
    removeNamespace(this.name);
    for (const link of this.links) claimedBlocks.delete(link.block);
    live.delete(this);
  }
}

/** Removes every `faaslab-<pid>-*` namespace whose owner pid is no longer alive; returns their names. */
export function reapStaleNamespaces(): string[] {
  if (!IP) return [];
  const reaped: string[] = [];
  for (const name of listNamespaces()) {
    const owner = ownerOf(name);
    if (owner === undefined || owner === process.pid || isAlive(owner)) continue;
    removeNamespace(name);
    reaped.push(name);
  }
  return reaped;
}

/** The pid in a `faaslab-<pid>-…` name, or undefined for any other namespace. */
export function ownerOf(name: string): number | undefined {
  const match = /^faaslab-(\d+)-/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Every namespace `ip netns list` shows (names only). */
export function listNamespaces(): string[] {
  if (!IP) return [];
  return (tryIp(["netns", "list"]) ?? "")
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0])
    .filter(Boolean);
}

function namespacePids(name: string): number[] {
  return (tryIp(["netns", "pids", name]) ?? "").split(/\s+/).filter(Boolean).map(Number);
}

/** Kills what runs inside (until none is left, or 5 s), then deletes the namespace (its veths go with it). */
function removeNamespace(name: string): void {
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = namespacePids(name);
    if (pids.length === 0 || Date.now() > deadline) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone already */
      }
    }
    sleepSync(10);
  }
  // The root ends of its veths go at once (the namespace itself is destroyed asynchronously).
  for (const device of rootDevicesInto(name)) tryIp(["link", "del", device]);
  tryIp(["netns", "del", name]);
}

/** Root-namespace devices whose veth peer is in the namespace `name` (`ip -o link` says link-netns). */
function rootDevicesInto(name: string): string[] {
  return (tryIp(["-o", "link", "show"]) ?? "")
    .split("\n")
    .filter((line) => line.includes(` link-netns ${name} `) || line.endsWith(` link-netns ${name}`))
    .map((line) => /^\d+: ([^@:]+)/.exec(line)?.[1])
    .filter((device): device is string => Boolean(device));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Creates a veth pair between two namespaces (undefined: root) on a free /30. A block is taken
 * by creating the devices: an uplink's root end `flv<block>h` cannot be made twice, so two runs
 * at once never get the same block; blocks whose addresses the root namespace already has are skipped.
 */
function makeLink(a: NetworkNamespace | undefined, b: NetworkNamespace): Link {
  const used = usedRootAddresses();
  for (let block = 0; block < POOL_BLOCKS; block++) {
    if (claimedBlocks.has(block)) continue;
    const base = (block % 64) * 4;
    const third = Math.floor(block / 64);
    const subnet = `${POOL[0]}.${POOL[1]}.${third}.${base}`;
    const addressA = `${POOL[0]}.${POOL[1]}.${third}.${base + 1}`;
    const addressB = `${POOL[0]}.${POOL[1]}.${third}.${base + 2}`;
    if (used.has(addressA) || used.has(addressB) || used.has(subnet)) continue;
    const deviceA = a ? `flv${block}a` : `flv${block}h`;
    const deviceB = a ? `flv${block}b` : `flv${block}n`;
    const where = (ns: NetworkNamespace | undefined) => (ns ? ["netns", ns.name] : []);
    try {
      ip(["link", "add", deviceA, ...where(a), "type", "veth", "peer", "name", deviceB, ...where(b)]);
    } catch (error) {
      if (/exists/i.test((error as Error).message)) continue;
      throw error;
    }
    claimedBlocks.add(block);
    const inNs = (ns: NetworkNamespace | undefined) => (ns ? ["-n", ns.name] : []);
    ip([...inNs(a), "addr", "add", `${addressA}/30`, "dev", deviceA]);
    ip([...inNs(b), "addr", "add", `${addressB}/30`, "dev", deviceB]);
    ip([...inNs(a), "link", "set", deviceA, "up"]);
    ip([...inNs(b), "link", "set", deviceB, "up"]);
    return new Link({ namespace: a, device: deviceA, address: addressA }, { namespace: b, device: deviceB, address: addressB }, `${subnet}/30`, block);
  }
  throw new Error(`no free /30 left in ${POOL.join(".")}.0.0/16`);
}

function usedRootAddresses(): Set<string> {
  const used = new Set<string>();
  for (const line of (tryIp(["-4", "-o", "addr", "show"]) ?? "").split("\n")) {
    const match = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (!match) continue;
    used.add(match[1]);
  }
  for (const line of (tryIp(["-4", "route", "show"]) ?? "").split("\n")) {
    const match = /^(\d+\.\d+\.\d+\.\d+)\/30 /.exec(line);
    if (match) used.add(match[1]);
  }
  return used;
}

/** Runs `ip`, returns its output; throws with its stderr. */
function ip(args: string[]): string {
  try {
    return execFileSync(IP ?? "ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`ip ${args.join(" ")}: ${stderr || (error as Error).message}`);
  }
}

function tryIp(args: string[]): string | undefined {
  try {
    return ip(args);
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The watchdog: a detached node process holding the read end of a pipe from the harness. The
 * pipe closes when the harness is gone, however it went (-9 included); then the watchdog waits
 * for the pid to be gone and removes the harness's namespaces, killing what runs in them.
 */
const WATCHDOG = `
const { execFileSync } = require("child_process");
const owner = Number(process.argv[1]);
const ip = process.argv[2];
const run = (args) => { try { return execFileSync(ip, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }); } catch { return ""; } };
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === "EPERM"; } };
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const prefix = "faaslab-" + owner + "-";
function reap() {
  for (const line of run(["netns", "list"]).split("\\n")) {
    const name = line.trim().split(/\\s+/)[0];
    if (!name || !name.startsWith(prefix)) continue;
    const deadline = Date.now() + 5000;
    for (;;) {
      const pids = run(["netns", "pids", name]).split(/\\s+/).filter(Boolean).map(Number);
      if (pids.length === 0 || Date.now() > deadline) break;
      for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch {} }
      sleep(10);
    }
    for (const line of run(["-o", "link", "show"]).split("\\n")) {
      if (!line.includes(" link-netns " + name + " ") && !line.endsWith(" link-netns " + name)) continue;
      const device = /^\\d+: ([^@:]+)/.exec(line);
      if (device) run(["link", "del", device[1]]);
    }
    run(["netns", "del", name]);
  }
}
let done = false;
function ownerGone() {
  if (done) return;
  done = true;
  const deadline = Date.now() + 10000;
  while (alive(owner) && Date.now() < deadline) sleep(20);
  if (!alive(owner)) reap();
  process.exit(0);
}
process.stdin.on("data", () => {});
process.stdin.on("end", ownerGone);
process.stdin.on("close", ownerGone);
process.stdin.on("error", ownerGone);
setInterval(() => { if (!alive(owner)) ownerGone(); }, 1000);
`;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const ns of [...live]) ns.removeSync();
  });
  const watchdog = spawn(process.execPath, ["-e", WATCHDOG, String(process.pid), IP ?? "ip"], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  watchdog.on("error", () => {});
  watchdog.unref();
  // The pipe stays open for the harness's whole life without keeping its event loop alive.
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
}
