/**
 * `faas status`: the cluster snapshot of `GET /cluster` as tables in the terminal, once or,
 * with --watch, redrawn every few seconds (with the throughput between two draws).
 */
import { InvalidArgumentError, type Command } from "commander";
import { retireOption } from "./output.js";
import type { ClusterSnapshot } from "../status/snapshot.js";
import { FaaSClient, FaaSError } from "../client/index.js";

const DEFAULT_API_URL = "http://127.0.0.1:8000";
/** Failures printed (GET /cluster gives more; the dashboard shows them all). */
const FAILURES_PRINTED = 10;

export function registerStatus(program: Command): void {
  const status = program
    .command("status")
    .summary("show the cluster: workers, load, tasks, recent failures")
    .description("show the cluster: dispatchers, workers and their load, tasks by state, recent failures (from the API's GET /cluster)")
    .option("--api <url>", `the API (default: $FAAS_API_URL, else ${DEFAULT_API_URL})`)
    .option("--api-token <token>", "the API's token, if it requires one (default: $FAAS_API_TOKEN)")
    .option("--watch [seconds]", "redraw every <seconds> (default 2) until Ctrl-C", parseInterval)
    .option("--json", "print the snapshot as JSON instead of tables (with --watch, one line per snapshot)")
    .action(async (options: { api?: string; apiToken?: string; watch?: number | true; json?: boolean }) => {
      const baseUrl = options.api ?? (process.env.FAAS_API_URL || DEFAULT_API_URL);
      if (!/^https?:\/\/[^/]/.test(baseUrl)) throw new InvalidArgumentError(`--api must be an http(s) URL, got "${baseUrl}"`);
      const client = new FaaSClient({ baseUrl, token: options.apiToken ?? (process.env.FAAS_API_TOKEN || undefined), timeoutMs: 5000 });
      // Watched as JSON, one line per snapshot (NDJSON), for a program to read.
      const show = (snapshot: ClusterSnapshot, previous?: ClusterSnapshot) =>
        options.json ? `${JSON.stringify(snapshot, null, options.watch === undefined ? 2 : undefined)}\n` : renderStatus(snapshot, baseUrl, previous);
      if (options.watch === undefined) {
        try {
          process.stdout.write(show(await client.cluster()));
        } catch (error) {
          fail(error, baseUrl);
        } finally {
          await client.close();
        }
        return;
      }
      await watch(client, baseUrl, options.watch === true ? 2 : options.watch, show, options.json === true);
    });
  retireOption(status, "--token", "--token is now --api-token");
  retireOption(status, "-w", "-w is no longer an option: give --watch");
}

function parseInterval(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) throw new InvalidArgumentError(`--watch takes seconds between 0.2 and 3600, got "${value}"`);
  return seconds;
}

function explain(error: unknown, baseUrl: string): string {
  if (error instanceof FaaSError && error.status === 401) return `the API at ${baseUrl} requires a token: give --api-token or set FAAS_API_TOKEN`;
  if (error instanceof FaaSError && error.status === 404) return `${baseUrl} has no GET /cluster: is it a faaslab API of this version?`;
  return error instanceof Error ? error.message : String(error);
}

function fail(error: unknown, baseUrl: string): never {
  process.stderr.write(`faas status: ${explain(error, baseUrl)}\n`);
  process.exit(1);
}

/** Redraws until Ctrl-C; an unreachable API is shown and retried, not fatal (it may be restarting). */
async function watch(client: FaaSClient, baseUrl: string, seconds: number, show: (snapshot: ClusterSnapshot, previous?: ClusterSnapshot) => string, json: boolean): Promise<void> {
  // On a terminal the screen is redrawn in place; in a pipe (or as JSON) each draw follows the last.
  const redraw = process.stdout.isTTY === true && !json;
  let previous: ClusterSnapshot | undefined;
  // Nothing to flush or close cleanly: stop at once, even with a request to a hung API out.
  const stop = () => process.exit(0);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  for (;;) {
    try {
      const snapshot = await client.cluster();
      const text = show(snapshot, previous);
      process.stdout.write(redraw ? `\x1b[H\x1b[2J${text}` : json ? text : `${text}\n`);
      previous = snapshot;
    } catch (error) {
      if (error instanceof FaaSError && error.status === 401) fail(error, baseUrl);
      process.stderr.write(`faas status: ${explain(error, baseUrl)}; retrying every ${seconds} s\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

/** The snapshot as text: a header, the task counts, a table of workers and one of recent failures. */
export function renderStatus(snapshot: ClusterSnapshot, apiUrl: string, previous?: ClusterSnapshot): string {
  const lines: string[] = [];
  const mode = snapshot.mode === null ? "no live dispatcher" : `${snapshot.mode} mode`;
  const dispatchers = `${snapshot.dispatchers.length} dispatcher${snapshot.dispatchers.length === 1 ? "" : "s"}`;
  lines.push(`faaslab at ${apiUrl}: ${mode}, ${dispatchers}, ${snapshot.workers.length} worker${snapshot.workers.length === 1 ? "" : "s"} (${clock(snapshot.at)})`);
  lines.push("");
  const { QUEUED, RUNNING, COMPLETED, FAILED } = snapshot.tasks;
  const counts = [`queued ${QUEUED}`, `running ${RUNNING}`, `completed ${COMPLETED}`, `failed ${FAILED}`, `executors busy ${snapshot.busy}/${snapshot.capacity}`];
  const rate = throughput(snapshot, previous);
  if (rate !== undefined) counts.push(`${rate.toFixed(rate < 10 ? 1 : 0)} tasks/s`);
  lines.push(`tasks: ${counts.join("   ")}`);
  for (const why of snapshot.stalled ?? []) lines.push(`waiting: ${why}`);
  lines.push("");
  if (snapshot.workers.length === 0) {
    lines.push(snapshot.dispatchers.length === 0 ? "No dispatcher is live: start one (faas dispatcher --help)." : "No worker is connected.");
  } else {
    const published = new Map(snapshot.dispatchers.map((dispatcher) => [dispatcher.id, dispatcher.publishedAt]));
    lines.push(...table(
      ["WORKER", "DISPATCHER", "EXECUTORS", "RUNTIMES", "BUSY", "LOAD", "LAST HEARTBEAT"],
      snapshot.workers.map((worker) => {
        const load = worker.capacity > 0 ? worker.busy / worker.capacity : 0;
        const silentMs = Math.max(0, (published.get(worker.dispatcherId) ?? worker.lastHeartbeatAt) - worker.lastHeartbeatAt);
        return [worker.id, worker.dispatcherId, String(worker.capacity), (worker.runtimes ?? ["javascript"]).join(","), String(worker.busy), `${bar(load)} ${Math.round(load * 100)}%`, `${(silentMs / 1000).toFixed(1)} s ago`];
      }),
      [false, false, true, false, true, false, true],
    ));
  }
  if (snapshot.recentFailures.length > 0) {
    lines.push("");
    lines.push(`Recent failures (newest first; ${Math.min(FAILURES_PRINTED, snapshot.recentFailures.length)} of ${FAILED} in all):`);
    lines.push(...table(
      ["WHEN", "TASK", "FUNCTION", "ERROR"],
      snapshot.recentFailures.slice(0, FAILURES_PRINTED).map((failure) => [
        clock(failure.at), failure.taskId, failure.functionName ?? failure.functionId,
        failure.error ? oneLine(`${failure.error.name}: ${failure.error.message}`, 80) : "(its record has expired)",
      ]),
    ));
  }
  return `${lines.join("\n")}\n`;
}

/** Finished tasks per second between two snapshots (undefined for the first, or after a Redis restart lost the counts). */
function throughput(snapshot: ClusterSnapshot, previous?: ClusterSnapshot): number | undefined {
  if (!previous || snapshot.at <= previous.at) return undefined;
  const finished = (s: ClusterSnapshot) => s.tasks.COMPLETED + s.tasks.FAILED;
  const delta = finished(snapshot) - finished(previous);
  return delta < 0 ? undefined : (delta * 1000) / (snapshot.at - previous.at);
}

function table(header: string[], cells: string[][], rightAligned: boolean[] = []): string[] {
  const rows = cells.map((row) => row.map(printable));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (row: string[]) =>
    row.map((cell, column) => (rightAligned[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join("  ").trimEnd();
  return [format(header), ...rows.map(format)];
}

/**
 * Names, errors and worker ids come from users and workers: control characters (escape
 * sequences could retitle or rewrite the terminal) and bidirectional overrides are shown as
 * `?`, and whitespace runs as one space.
 */
export function printable(text: string): string {
  return text.replace(/\s+/g, " ").replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "?");
}

function bar(fraction: number, width = 10): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${"#".repeat(filled)}${".".repeat(width - filled)}`;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
