/**
 * The ZAP handler (ZeroMQ RFC 27) that decides which workers may connect to a CURVE
 * dispatcher. libzmq asks it about every new connection to a CURVE server socket of the same
 * context, over inproc://zeromq.zap.01, before any message of the peer is delivered: it allows
 * mechanism CURVE with a client public key in the allowlist, and refuses anything else with
 * 400 (the peer's handshake fails with an authentication error; libzmq does not retry it).
 *
 * It must be bound before the server socket accepts connections: with no handler bound,
 * libzmq lets any CURVE client in.
 */
import { Router } from "zeromq";
import type { Logger } from "../log.js";
import { LogThrottle } from "../log-throttle.js";
import { encodeKey, type Allowlist } from "./curve.js";
import { receiveUntilClosed } from "./receive.js";

export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** Set as `zapDomain` on the server socket, so the handler is consulted and requests name it. */
export const ZAP_DOMAIN = "faaslab";

/** What a ZAP request asks, once its frames are read. */
interface ZapRequest {
  version: string;
  domain: string;
  /** The peer's IP address. */
  address: string;
  mechanism: string;
  /** CURVE: the client's public key (32 bytes). */
  credentials: Buffer[];
}

type ZapVerdict = { allowed: true; key: string; label: string } | { allowed: false; key?: string; reason: string };

export class ZapHandler {
  private readonly socket = new Router({ linger: 0 });
  private serving: Promise<void> | undefined;
  /** Each refused key (or reason, without a key) is logged the first time, then every thousandth time. */
  private readonly refusals = new LogThrottle({ first: 1 });

  constructor(private readonly allowlist: Allowlist, private readonly log: Logger) {}

  async start(): Promise<void> {
    await this.socket.bind(ZAP_ENDPOINT);
    this.serving = receiveUntilClosed(this.socket, (frames) => this.answer(frames));
  }

  async stop(): Promise<void> {
    this.socket.close();
    await this.serving;
  }

  /** Answers one ZAP request. */
  private async answer(frames: Buffer[]): Promise<void> {
    // [routing id, delimiter, version, request id, domain, address, identity, mechanism, ...credentials]
    const [routingId, delimiter, version, requestId, domain, address, , mechanism, ...credentials] = frames;
    if (mechanism === undefined) return; // only libzmq talks on this endpoint; a short request is not one
    const request = { version: version.toString(), domain: domain.toString(), address: address.toString(), mechanism: mechanism.toString(), credentials };
    const verdict = this.judge(request);
    if (verdict.allowed) {
      this.log.debug({ key: verdict.key, label: verdict.label, address: request.address }, "CURVE key allowed");
    } else {
      this.logRefusal(verdict, request.address);
    }
    const [status, text, userId] = verdict.allowed ? ["200", "OK", verdict.label || verdict.key] : ["400", verdict.reason, ""];
    await this.socket.send([routingId, delimiter, "1.0", requestId, status, text, userId, ""]).catch(() => {});
  }

  /** Allows mechanism CURVE with a client public key in the allowlist, and nothing else. */
  private judge(request: ZapRequest): ZapVerdict {
    if (request.version !== "1.0") return { allowed: false, reason: `ZAP version ${request.version}` };
    if (request.mechanism !== "CURVE") return { allowed: false, reason: `mechanism ${request.mechanism}, CURVE required` };
    const [credential] = request.credentials;
    if (request.credentials.length !== 1 || credential.length !== 32) return { allowed: false, reason: "no CURVE public key" };
    const key = encodeKey(credential);
    const label = this.allowlist.lookup(key);
    return label === undefined ? { allowed: false, key, reason: "its CURVE public key is not in the allowlist" } : { allowed: true, key, label };
  }

  private logRefusal(verdict: Extract<ZapVerdict, { allowed: false }>, address: string): void {
    if (!this.refusals.count(verdict.key ?? verdict.reason)) return;
    this.log.warn({ key: verdict.key, address, reason: verdict.reason, refusals: this.refusals.total }, `worker refused: ${verdict.reason}`);
  }
}
