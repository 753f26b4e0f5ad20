/**
 * Framing of the executor channel (host-protocol.ts): each message is a 4-byte big-endian
 * length and V8's serialization of the message (node:v8, the structured clone of
 * postMessage: a task's strings cross as they are, without JSON escaping).
 */
import { deserialize, serialize } from "node:v8";

const HEADER_BYTES = 4;

export function frame(message: unknown): Buffer {
  const body = serialize(message);
  const framed = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  framed.writeUInt32BE(body.length, 0);
  body.copy(framed, HEADER_BYTES);
  return framed;
}

export class FrameError extends Error {}

/** Splits a byte stream into messages; throws FrameError for a frame over `maxBytes` or one that does not decode. */
export class FrameReader {
  /** Bytes received and not yet part of a whole frame, as they came (joined only once a frame is whole). */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the frame being received, once its header is in. */
  private needed: number | undefined;

  /** The largest frame accepted; it may change between chunks (a peer gets more once it is trusted). */
  constructor(public maxBytes: number = Number.POSITIVE_INFINITY) {}

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: unknown[] = [];
    for (;;) {
      if (this.needed === undefined) {
        if (this.buffered < HEADER_BYTES) break;
        const length = this.take(HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxBytes) throw new FrameError(`a frame of ${length} bytes, over the limit of ${this.maxBytes}`);
        this.needed = length;
      }
      if (this.buffered < this.needed) break;
      const body = this.take(this.needed);
      this.needed = undefined;
      try {
        messages.push(deserialize(body));
      } catch (error) {
        throw new FrameError(`a frame that does not decode: ${(error as Error).message}`);
      }
    }
    return messages;
  }

  /** The next `bytes` bytes (at most what is buffered), removed from the buffer. */
  private take(bytes: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const taken = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return taken;
  }
}
