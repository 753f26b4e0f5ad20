/**
 * How an ExecutorPool (pool.ts, through host-process.ts) talks to its executor host (host.ts)
 * and to the executor threads in it (host-thread.ts). Two links:
 *
 * The host's IPC channel (Node's, `serialization: "advanced"`), for the threads' lifecycle:
 *   pool -> host   open          where the executor channel listens, and the secret each thread's key comes from
 *   pool -> host   stop          terminate the thread of a slot (its task passed its deadline)
 *   host -> pool   thread-ended  a slot's thread is gone (stopped, out of memory, crashed); the next one is starting
 *   host -> pool   over-budget   the process is past its memory budget: the pool replaces it
 *
 * The executor channel, for the tasks: a socket from each thread straight to the pool (an
 * abstract Unix socket the pool listens on), framed by frames.ts, so a task and its outcome
 * do not wake the host's main thread on their way:
 *   thread -> pool hello    the thread of a slot, proving it with its key
 *   pool -> thread run      one task; the thread answers it exactly once
 *   thread -> pool outcome  the task's terminal status and serialized result or error
 *
 * A thread's key is an HMAC of its slot and generation (how many threads the slot had before)
 * under a secret only the pool and the host's main thread know. Any process in the network
 * namespace can connect to the channel; the keys keep them out. They are no wall between the
 * threads of one host, which share its file descriptors (README, "What is not protected").
 *
 * The host's options travel as its single command-line argument (JSON), so it needs no
 * environment at all; the secret travels over IPC, since command lines are public.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { ExecutorOutcome, ExecutorTask } from "./contract.js";

export interface HostOptions {
  /** The pool's name, which the executors' names start with. */
  name: string;
  executors: number;
  /** Heap limit of each executor thread, in MiB. */
  memoryMb: number;
  /** The longest serialized result a task may produce, in bytes. */
  maxResultBytes: number;
  /** The resident memory the whole host process may use, in MiB (array buffers count only here). */
  memoryBudgetMb: number;
}

export type ToHost =
  | { type: "open"; address: string; secret: string }
  | { type: "stop"; slot: number; generation: number };

/** Why a slot's thread ended. */
export type ThreadEnd = "stopped" | "out-of-memory" | "crashed";

export type FromHost =
  | { type: "thread-ended"; slot: number; generation: number; reason: ThreadEnd; message: string }
  | { type: "over-budget"; rssMb: number };

/** What the host gives each thread (its workerData). */
export interface ThreadChannel {
  address: string;
  slot: number;
  generation: number;
  key: string;
}

export type ToThread = { type: "run"; id: number; task: ExecutorTask };

export type FromThread =
  | { type: "hello"; slot: number; generation: number; key: string }
  | ({ type: "outcome"; id: number } & ExecutorOutcome);

export function threadKey(secret: string, slot: number, generation: number): string {
  return createHmac("sha256", secret).update(`${slot}:${generation}`).digest("base64url");
}

/** Whether `key` is the key of that slot's thread of that generation (compared in constant time). */
export function provesThread(secret: string, slot: number, generation: number, key: unknown): boolean {
  if (typeof key !== "string") return false;
  const expected = Buffer.from(threadKey(secret, slot, generation));
  const given = Buffer.from(key);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
