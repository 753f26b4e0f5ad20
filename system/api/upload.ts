/**
 * What is done with a refused upload before it is answered. Closing a socket with unread data
 * makes the kernel send a reset, and the client then loses the 413 while still writing (the
 * "lingering close" problem), so the rest of the body is read and thrown away, up to limits.
 */
import type { IncomingMessage } from "node:http";

/** How much of an oversized upload is read and thrown away so that its client sees the 413. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/** Reads the rest of a refused upload; past the limits the upload is cut off. */
export function drainUpload(stream: IncomingMessage): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let received = 0;
    const finish = () => {
      clearTimeout(timer);
      stream.off("data", count);
      resolve();
    };
    const giveUp = () => {
      stream.destroy();
      finish();
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > DRAIN_LIMIT_BYTES) giveUp();
    };
    const timer = setTimeout(giveUp, DRAIN_TIMEOUT_MS);
    stream.on("data", count);
    stream.once("end", finish);
    stream.once("error", finish);
    stream.resume();
  });
}
