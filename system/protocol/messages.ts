/**
 * The wire protocol between a dispatcher (ROUTER) and its workers (DEALER), version 2.
 * Every message is one ZeroMQ frame holding one JSON object with `v` (the protocol version)
 * and `type`; the ROUTER adds the routing id of the sender's connection in front (a secret of
 * the worker's, not its id: see worker/link.ts). This module is the only
 * place messages are defined: both sides encode and decode through it, and anything that does
 * not match (wrong version, unknown type, malformed JSON, extra frames) is dropped and logged.
 *
 * Worker -> dispatcher                       Dispatcher -> worker
 *   hello     register (capacity, token, held) welcome   registered; the heartbeat to keep,
 *                                                        the largest message it accepts
 *   request   pull mode: I have N idle executors refused   not registered, and why (then exit)
 *   started   an executor began a task          task      run this
 *   rejected  I cannot run this task; send it   ack       result recorded; forget it
 *             elsewhere (or again, with source)  heartbeat I am alive
 *   result    a task's outcome                  unknown   I do not know you: say hello again
 *   heartbeat I am alive, and what I am running
 *   bye       I am leaving
 *
 * Tasks are named by their task id alone: where a task sits in Redis (its queue entry) is
 * the store's business, found from the task (version 1 carried the entry id on the wire).
 */
import { z } from "zod";
import { WORKER_MODES } from "../modes.js";
import { RUNTIMES } from "../runtimes.js";
import { MAX_DEADLINE_MS } from "../task.js";

export const PROTOCOL_VERSION = 2;

const id = z.string().min(1).max(200);
const count = z.number().int().min(0).max(1_000_000);
const mode = z.enum(WORKER_MODES);
const status = z.enum(["COMPLETED", "FAILED"]);
const workerMessages = [
  z.object({
    type: z.literal("hello"), workerId: id, mode, capacity: count.min(1), token: z.string().max(1000).optional(),
    /** The tasks it holds: on an executor, or finished with a result waiting for its ack. */
    held: z.array(id).max(100_000),
    /** The runtimes its executors run; absent: JavaScript only (a worker older than runtimes). */
    runtimes: z.array(z.enum(RUNTIMES)).min(1).max(RUNTIMES.length).optional(),
  }),
  /** Absolute, not an increment: the dispatcher subtracts what it sent that has not started yet. */
  z.object({ type: z.literal("request"), idle: count }),
  z.object({ type: z.literal("started"), taskId: id }),
  z.object({ type: z.literal("rejected"), taskId: id, reason: z.enum(["no-source", "busy", "leaving"]) }),
  z.object({ type: z.literal("result"), taskId: id, status, result: z.string(), executor: z.string().max(500) }),
  /** `running`: the ids of the tasks on the worker's executors now (finished ones awaiting their ack are not listed). */
  z.object({ type: z.literal("heartbeat"), running: z.array(id).max(100_000) }),
  z.object({ type: z.literal("bye") }),
] as const;

const dispatcherMessages = [
  z.object({
    type: z.literal("welcome"), dispatcherId: id, heartbeatMs: count.min(1), heartbeatTolerance: count.min(1),
    /** The largest message the dispatcher accepts: the worker fails a result that would not fit rather than send it. */
    maxMessageBytes: z.number().int().min(1).optional(),
  }),
  z.object({ type: z.literal("refused"), reason: z.string() }),
  z.object({
    type: z.literal("task"), taskId: id, functionId: id,
    /** Sent the first time this worker is given the function; it caches it after. */
    source: z.string().optional(),
    /** The function's runtime; absent: JavaScript. */
    runtime: z.enum(RUNTIMES).optional(),
    args: z.string(), deadlineMs: z.number().int().min(1).max(MAX_DEADLINE_MS),
  }),
  z.object({ type: z.literal("ack"), taskId: id }),
  z.object({ type: z.literal("heartbeat") }),
  z.object({ type: z.literal("unknown") }),
] as const;

// `v` is checked before parsing; zod then strips it with any other unknown key.
const WorkerMessageSchema = z.discriminatedUnion("type", workerMessages);
const DispatcherMessageSchema = z.discriminatedUnion("type", dispatcherMessages);

export type WorkerMessage = z.infer<(typeof workerMessages)[number]>;
export type DispatcherMessage = z.infer<(typeof dispatcherMessages)[number]>;
export type { WorkerMode } from "../modes.js";
export type TaskMessage = Extract<DispatcherMessage, { type: "task" }>;
export type RejectReason = Extract<WorkerMessage, { type: "rejected" }>["reason"];

/** Why a frame was dropped. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

export function encode(message: WorkerMessage | DispatcherMessage): Buffer {
  return Buffer.from(JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
}

function decode<T>(schema: z.ZodType, frame: Buffer | undefined, side: string): T {
  if (frame === undefined) throw new ProtocolError(`empty ${side} message`);
  let json: unknown;
  try {
    json = JSON.parse(frame.toString("utf8"));
  } catch {
    throw new ProtocolError(`${side} message is not JSON (${frame.length} bytes)`);
  }
  const version = (json as { v?: unknown } | null)?.v;
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(`${side} message has protocol version ${JSON.stringify(version)}, expected ${PROTOCOL_VERSION}`);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProtocolError(`invalid ${side} message: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as T;
}

export function decodeWorkerMessage(frame: Buffer | undefined): WorkerMessage {
  return decode<WorkerMessage>(WorkerMessageSchema, frame, "worker");
}

export function decodeDispatcherMessage(frame: Buffer | undefined): DispatcherMessage {
  return decode<DispatcherMessage>(DispatcherMessageSchema, frame, "dispatcher");
}
