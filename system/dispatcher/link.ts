/**
 * The dispatcher's end of the worker links: one ROUTER socket that the workers' DEALERs
 * connect to (the routing id in front of each message names the connection: each worker draws
 * its own as a secret; remote.ts binds it to the worker at hello), the ZAP handler
 * that admits workers under CURVE, the logging of failed handshakes, and serial sending.
 *
 * It knows the transport only: every frame that arrives is decoded and handed on with who sent
 * it; a frame that is not a message (protocol/messages.ts) is dropped and logged, throttled.
 * What messages mean is remote.ts's.
 */
import { Router, type EventOfType } from "zeromq";
import type { Logger } from "../log.js";
import { LogThrottle } from "../log-throttle.js";
import type { Allowlist, CurveKeyPair } from "../protocol/curve.js";
import { decodeWorkerMessage, encode, ProtocolError, type DispatcherMessage, type WorkerMessage } from "../protocol/messages.js";
import { receiveUntilClosed } from "../protocol/receive.js";
import { SerialSender } from "../protocol/sender.js";
import { ZAP_DOMAIN, ZapHandler } from "../protocol/zap.js";

export interface CurveSettings {
  /** The dispatcher's own key pair; workers are given its public key. */
  keyPair: CurveKeyPair;
  allowlist: Allowlist;
}

export interface LinkOptions {
  /** Address to bind, e.g. 127.0.0.1 or 0.0.0.0. */
  host: string;
  /** Port to bind; 0 picks a free one (see `endpoint`). */
  port: number;
  /** Largest message accepted from a peer; a larger one closes its connection. */
  maxMessageBytes: number;
  /** When set, the link is encrypted with CURVE and only workers whose public key is allowed may connect. */
  curve?: CurveSettings;
}

/** Called with each message that arrives, and its sender's routing id. Must not throw. */
export type Receiver = (from: Buffer, message: WorkerMessage) => void;

/** How long stop() waits for queued messages to be handed to ZeroMQ. */
const FLUSH_TIMEOUT_MS = 1000;

export class WorkerLink {
  /** The bound endpoint (tcp://host:port), once started. */
  endpoint = "";
  private readonly router: Router;
  private readonly zap: ZapHandler | undefined;
  private readonly sender: SerialSender;
  private receiving: Promise<void> | undefined;
  private readonly droppedFrames = new LogThrottle();
  /** Counted per error code, so that one noisy peer does not hide a different problem. */
  private readonly failedHandshakes = new LogThrottle();

  constructor(private readonly options: LinkOptions, private readonly log: Logger, private readonly receiver: Receiver) {
    const curve = options.curve;
    this.router = new Router({
      linger: 0, sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000,
      // libzmq closes the connection of a peer that sends more: garbage never reaches the decoder.
      maxMessageSize: options.maxMessageBytes,
      ...(curve ? { curveServer: true, curveSecretKey: curve.keyPair.secretKey, zapDomain: ZAP_DOMAIN } : {}),
    });
    this.zap = curve ? new ZapHandler(curve.allowlist, log) : undefined;
    for (const type of ["handshake:error:protocol", "handshake:error:other"] as const) {
      this.router.events.on(type, (event) => this.handshakeFailed(event));
    }
    this.sender = new SerialSender(this.router, log);
  }

  async start(): Promise<void> {
    // The ZAP handler first: until it is bound, libzmq would let any CURVE client in.
    await this.zap?.start();
    await this.router.bind(`tcp://${this.options.host}:${this.options.port === 0 ? "*" : this.options.port}`);
    this.endpoint = this.router.lastEndpoint ?? "";
    this.receiving = receiveUntilClosed(this.router, (frames) => this.receive(frames));
  }

  /** Queues a message to a peer (fire and forget: the protocol recovers from a lost one). */
  send(to: Buffer, message: DispatcherMessage): void {
    this.sender.send([to, encode(message)]);
  }

  /** Sends what is queued (waiting a second at most), then closes the socket and the ZAP handler. */
  async stop(): Promise<void> {
    await Promise.race([this.sender.flushed(), new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
    this.router.close();
    await this.receiving?.catch(() => {});
    await this.zap?.stop();
  }

  private receive(frames: Buffer[]): void {
    const [routingId, frame, ...extra] = frames;
    let message: WorkerMessage;
    try {
      if (extra.length > 0) throw new ProtocolError(`expected one frame, got ${frames.length - 1}`);
      message = decodeWorkerMessage(frame);
    } catch (error) {
      this.dropFrame(routingId, error as Error);
      return;
    }
    this.receiver(routingId, message);
  }

  private dropFrame(routingId: Buffer | undefined, error: Error): void {
    if (this.droppedFrames.count()) {
      this.log.warn({ from: routingId === undefined ? undefined : `${routingId.toString("hex").slice(0, 8)}…`, err: error.message, dropped: this.droppedFrames.total }, "message dropped");
    }
  }

  /** A peer whose handshake failed (not ZeroMQ, the wrong mechanism or server key, a broken connection): it never got in. */
  private handshakeFailed(event: EventOfType<"handshake:error:protocol" | "handshake:error:other">): void {
    const code = (event.error as Error & { code?: string }).code;
    if (!this.failedHandshakes.count(code ?? "")) return;
    const hint = code === "ERR_ZMTP_MECHANISM_MISMATCH" ? (this.options.curve ? "the peer does not use CURVE" : "the peer uses CURVE and this dispatcher does not")
      : code === "ERR_ZMTP_CRYPTOGRAPHIC" ? "the peer's CURVE handshake does not decrypt (does it use this dispatcher's public key?)" : undefined;
    this.log.warn({ err: event.error.message, code, hint, failed: this.failedHandshakes.total }, "handshake with a peer failed");
  }
}
