/**
 * Prometheus metrics (prom-client), shared by the components: a registry per process (not
 * prom-client's global one, so that tests can build several apps in one process), the
 * switch that turns collection off, and the little HTTP server a dispatcher scrapes on.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Registry } from "prom-client";
import { decodedResult, errorNameAndMessage } from "./codec/pickle.js";
import { TaskErrors } from "./task.js";

/** FAAS_METRICS=off turns collection off: the metrics objects do nothing (to measure what they cost). */
export function metricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.FAAS_METRICS !== "off";
}

/** A registry of this process's own, with prom-client's default process metrics when collecting. */
export function newRegistry(enabled = metricsEnabled()): Registry {
  const registry = new Registry();
  if (enabled) collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` from a registry on host:port (0 picks a free port). */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "only GET /metrics is served here", code: "ROUTE_NOT_FOUND" }));
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(`metrics could not be collected: ${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}/metrics`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export const FUNCTION_ERROR = "function_error";
const FAASLAB_ERRORS = new Set<string>(Object.keys(TaskErrors));

/**
 * Why a task failed, as a label: the name of an error faaslab gave it (DeadlineExceeded, …),
 * or "function_error" for what the function threw (its names are unbounded: not a label).
 */
export function failureReason(serializedError: string): string {
  try {
    const { name } = errorNameAndMessage(decodedResult(serializedError));
    return FAASLAB_ERRORS.has(name) ? name : FUNCTION_ERROR;
  } catch {
    return FUNCTION_ERROR;
  }
}

/** Resolves to `fallback` if `promise` has not settled within `ms` (a scrape must not hang on Redis). */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return Promise.race([promise.catch(() => fallback), new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())]);
}
