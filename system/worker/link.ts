/**
 * A worker's end of its link to the dispatcher: one DEALER socket (ZeroMQ reconnects it by
 * itself) whose routing id is a secret drawn at start and never shown: the dispatcher knows
 * this worker by the connection its hello came on, so a peer that learns the worker's id
 * (GET /cluster shows it) cannot speak for it. Without CURVE the link is plaintext, and the
 * secret can be read off the wire as the token can. CURVE when asked, the handshake failures
 * told apart (refused for good, or retried), and serial sending. Every frame that arrives is
 * decoded and handed on; one that is not a message (protocol/messages.ts) is dropped and
 * logged, throttled. What messages mean is worker.ts's.
 */
import { randomBytes } from "node:crypto";
import { Dealer, type EventOfType } from "zeromq";
import type { Logger } from "../log.js";
import { LogThrottle } from "../log-throttle.js";
import type { CurveKeyPair } from "../protocol/curve.js";
import { decodeDispatcherMessage, encode, ProtocolError, type DispatcherMessage, type WorkerMessage } from "../protocol/messages.js";
import { receiveUntilClosed } from "../protocol/receive.js";
import { SerialSender } from "../protocol/sender.js";

export interface DispatcherLinkEvents {
  /** Each message from the dispatcher. */
  received(message: DispatcherMessage): void;
  /** The dispatcher will never let this worker in (a refused CURVE key, a mechanism mismatch): why. */
  refused(reason: string): void;
}

/** How long stop() waits for queued messages to be handed to ZeroMQ. */
const FLUSH_TIMEOUT_MS = 500;

export class DispatcherLink {
  private readonly dealer: Dealer;
  private readonly sender: SerialSender;
  private receiving: Promise<void> | undefined;
  private readonly droppedFrames = new LogThrottle();
  /** A handshake failed since the last one that succeeded (said once, not at every retry). */
  private handshakeFailing = false;

  constructor(
    private readonly curve: { serverKey: string; keyPair: CurveKeyPair } | undefined,
    private readonly log: Logger,
    private readonly events: DispatcherLinkEvents,
  ) {
    this.dealer = new Dealer({
      routingId: randomBytes(16).toString("hex"), linger: 0, sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000,
      reconnectInterval: 100, reconnectMaxInterval: 2000,
      ...(curve ? { curveServerKey: curve.serverKey, curvePublicKey: curve.keyPair.publicKey, curveSecretKey: curve.keyPair.secretKey } : {}),
    });
    this.watchHandshakes();
    this.sender = new SerialSender(this.dealer, log);
  }

  connect(url: string): void {
    this.dealer.connect(url);
    this.receiving = receiveUntilClosed(this.dealer, (frames) => this.receive(frames));
  }

  send(message: WorkerMessage): void {
    this.sender.send([encode(message)]);
  }

  /** Sends a message already encoded (a result, whose size was checked on its frame). */
  sendEncoded(frame: Buffer): void {
    this.sender.send([frame]);
  }

  /** Sends what is queued (waiting half a second at most), then closes the socket. */
  async stop(): Promise<void> {
    await Promise.race([this.sender.flushed(), new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
    this.dealer.close();
    await this.receiving?.catch(() => {});
  }

  /**
   * A refused CURVE key or a mechanism mismatch (one side uses CURVE, the other not) fails the
   * handshake, and libzmq does not retry it: the worker is refused as by a wrong token. Other
   * failures (a wrong dispatcher public key looks like a dropped connection) are retried by
   * libzmq, and said once.
   */
  private watchHandshakes(): void {
    const events = this.dealer.events;
    events.on("handshake:error:auth", () => {
      this.events.refused(`its CURVE allowlist does not hold this worker's public key ${this.curve?.keyPair.publicKey ?? "(none)"}: add it there (--curve-allow)`);
    });
    events.on("handshake:error:protocol", (event: EventOfType<"handshake:error:protocol">) => {
      if (event.error.code === "ERR_ZMTP_MECHANISM_MISMATCH") {
        this.events.refused(this.curve
          ? "the dispatcher does not use CURVE, and this worker does (drop --curve-server-key, or enable CURVE on the dispatcher)"
          : "the dispatcher requires CURVE: give this worker --curve-server-key <dispatcher public key> and --curve-secret-key-file <its key pair>");
      } else {
        this.events.refused(`the handshake with the dispatcher failed: ${event.error.message} (${event.error.code})`);
      }
    });
    events.on("handshake:error:other", (event: EventOfType<"handshake:error:other">) => {
      if (this.handshakeFailing) return;
      this.handshakeFailing = true;
      const hint = this.curve ? "; if it keeps failing, check that --curve-server-key is the dispatcher's public key" : "";
      this.log.warn({ err: event.error.message }, `the handshake with the dispatcher failed; retrying${hint}`);
    });
    events.on("handshake", () => (this.handshakeFailing = false));
  }

  private receive(frames: Buffer[]): void {
    try {
      if (frames.length !== 1) throw new ProtocolError(`expected one frame, got ${frames.length}`);
      this.events.received(decodeDispatcherMessage(frames[0]));
    } catch (error) {
      if (this.droppedFrames.count()) this.log.warn({ err: (error as Error).message, dropped: this.droppedFrames.total }, "message dropped");
    }
  }
}
