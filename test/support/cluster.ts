/** A cluster per test file, always stopped, with helpers for raw HTTP and waiting on status. */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll } from "vitest";
import { Cluster, type ClusterOptions } from "../../harness/cluster/cluster.js";
import { waitFor } from "../../harness/wait.js";
import { FaaSClient, serialize, type TaskStatus } from "../../system/client/index.js";

export interface ClusterFixture {
  cluster: Cluster;
  client: FaaSClient;
  url: string;
}

/** Starts a cluster before the file's tests and stops it after them, even when they fail. */
export function useCluster(options: ClusterOptions = {}): ClusterFixture {
  const fixture = {} as ClusterFixture;
  beforeAll(async () => {
    fixture.cluster = await Cluster.start(options);
    fixture.url = fixture.cluster.apiUrl;
    fixture.client = new FaaSClient({ baseUrl: fixture.url });
  });
  afterAll(async () => {
    await fixture.cluster?.stop();
  });
  return fixture;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  body: any;
}

/** A raw request, for asserting on status codes and error bodies. */
export async function http(baseUrl: string, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<HttpReply> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? undefined : { "content-type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: the test will say so */
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * Posts a large body the way a robust client must: a server may answer (413) and close
 * before the upload ends, so a write error after the response arrived is not a failure.
 */
export function postLarge(baseUrl: string, path: string, body: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = httpRequest(`${baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      answered = true;
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: new Headers(response.headers as Record<string, string>), body: JSON.parse(text) }));
    });
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    request.end(body);
  });
}

export const registerBody = (fn: (...args: never[]) => unknown, name = "f") => ({ name, payload: serialize(fn) });
export const executeBody = (functionId: string, args: unknown[]) => ({ function_id: functionId, payload: serialize(args) });

export async function waitForStatus(client: FaaSClient, taskId: string, status: TaskStatus, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await client.status(taskId)) === status, { what: `task ${taskId} to be ${status}`, timeoutMs });
}
