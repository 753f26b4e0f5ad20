/**
 * An executor thread of the executor host (host.ts starts it): it connects to its pool over
 * the executor channel (host-protocol.ts), says which slot it is, and runs the tasks the pool
 * sends, one at a time, with thread.ts's executor. The host's main thread never sees them.
 * When the channel closes, the thread ends; the host starts the slot's next one.
 */
import { connect } from "node:net";
import { threadId, workerData } from "node:worker_threads";
import { serializedTaskError } from "../task.js";
import { frame, FrameReader } from "./frames.js";
import type { FromThread, ThreadChannel, ToThread } from "./host-protocol.js";
import execute from "./thread.js";

const { channel, name } = workerData as { channel: ThreadChannel; name: string };
const socket = connect(channel.address);
const send = (message: FromThread) => socket.write(frame(message));
send({ type: "hello", slot: channel.slot, generation: channel.generation, key: channel.key });

const reader = new FrameReader();
socket.on("data", (chunk: Buffer) => {
  for (const message of reader.push(chunk) as ToThread[]) {
    if (message.type !== "run") continue;
    const { id } = message;
    void execute(message.task).then(
      (outcome) => send({ type: "outcome", id, ...outcome }),
      (error: unknown) => send({
        type: "outcome", id, status: "FAILED", executor: `${name}/thread-${threadId}`,
        result: serializedTaskError("ExecutorCrashed", `the executor failed while running the task: ${error instanceof Error ? error.message : "unknown"}`),
      }),
    );
  }
});
// The pool closed the channel (or is gone): nothing is left to serve.
socket.on("close", () => process.exit(0));
socket.on("error", () => {}); // 'close' follows
