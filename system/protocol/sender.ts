/**
 * zeromq.js allows one send in progress per socket: this queues sends so that callers can
 * fire and forget. A message that cannot be queued (the peer's pipe is full, the socket is
 * closed) is dropped: the protocol recovers from loss (results are resent until acked,
 * assignments are reconciled with heartbeats).
 */
import type { Logger } from "../log.js";
import { LogThrottle } from "../log-throttle.js";

interface Sendable {
  send(message: Buffer[]): Promise<void>;
}

export class SerialSender {
  private tail: Promise<void> = Promise.resolve();
  /** A closed socket or a vanished peer would otherwise flood the log: the first drop, then every thousandth. */
  private readonly dropped = new LogThrottle({ first: 1 });

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
    if (this.dropped.count()) this.log.debug({ err: error.message, dropped: this.dropped.total }, "message dropped");
  }
}
