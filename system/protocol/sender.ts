/**
 * zeromq.js allows one send in progress per socket: this queues sends so that callers can
 * fire and forget. A message that cannot be queued (the peer's pipe is full, the socket is
 * closed) is dropped: the protocol recovers from loss (results are resent until acked,
 * assignments are reconciled with heartbeats).
 */
import type { Logger } from "../log.js";

interface Sendable {
  send(message: Buffer[]): Promise<void>;
}

export class SerialSender {
  private tail: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(private readonly socket: Sendable, private readonly log: Logger) {}

  send(frames: Buffer[]): void {
    this.tail = this.tail.then(
      () => this.socket.send(frames).catch((error: Error) => this.drop(error)),
    );
  }

  /** Resolves once everything queued so far was handed to ZeroMQ (or dropped). */
  flushed(): Promise<void> {
    return this.tail;
  }

  private drop(error: Error): void {
    this.dropped++;
    // Once per 1000 drops: a closed socket or a vanished peer would otherwise flood the log.
    if (this.dropped % 1000 === 1) this.log.debug({ err: error.message, dropped: this.dropped }, "message dropped");
  }
}
