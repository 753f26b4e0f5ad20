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
import { encodeKey, type Allowlist } from "./curve.js";

export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** Set as `zapDomain` on the server socket, so the handler is consulted and requests name it. */
export const ZAP_DOMAIN = "faaslab";

/** What a ZAP request asks, once its frames are read. */
export interface ZapRequest {
  version: string;
  domain: string;
  /** The peer's IP address. */
  address: string;
  mechanism: string;
  /** CURVE: the client's public key (32 bytes). */
  credentials: Buffer[];
}

export type ZapVerdict = { allowed: true; key: string; label: string } | { allowed: false; key?: string; reason: string };

/** The decision alone, apart from the socket. */
export function judge(request: ZapRequest, allowlist: Allowlist): ZapVerdict {
  if (request.version !== "1.0") return { allowed: false, reason: `ZAP version ${request.version}` };
  if (request.mechanism !== "CURVE") return { allowed: false, reason: `mechanism ${request.mechanism}, CURVE required` };
  const [credential] = request.credentials;
  if (request.credentials.length !== 1 || credential.length !== 32) return { allowed: false, reason: "no CURVE public key" };
  const key = encodeKey(credential);
  const label = allowlist.lookup(key);
  return label === undefined ? { allowed: false, key, reason: "its CURVE public key is not in the allowlist" } : { allowed: true, key, label };
}

/** Refused keys remembered, so that each is logged once; beyond this many, every 1000th refusal is. */
const REMEMBERED_REFUSALS = 10_000;

export class ZapHandler {
  private readonly socket = new Router({ linger: 0 });
  private serving: Promise<void> | undefined;
  private readonly refusedKeys = new Set<string>();
  private refusals = 0;

  constructor(private readonly allowlist: Allowlist, private readonly log: Logger) {}

  async start(): Promise<void> {
    await this.socket.bind(ZAP_ENDPOINT);
    this.serving = this.serve();
  }

  async stop(): Promise<void> {
    this.socket.close();
    await this.serving;
  }

  private async serve(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        return; // the socket was closed
      }
      // [routing id, delimiter, version, request id, domain, address, identity, mechanism, ...credentials]
      const [routingId, delimiter, version, requestId, domain, address, , mechanism, ...credentials] = frames;
      if (mechanism === undefined) continue; // only libzmq talks on this endpoint; a short request is not one
      const request = { version: version.toString(), domain: domain.toString(), address: address.toString(), mechanism: mechanism.toString(), credentials };
      const verdict = judge(request, this.allowlist);
      if (verdict.allowed) {
        this.log.debug({ key: verdict.key, label: verdict.label, address: request.address }, "CURVE key allowed");
      } else {
        this.logRefusal(verdict, request.address);
      }
      const [status, text, userId] = verdict.allowed ? ["200", "OK", verdict.label || verdict.key] : ["400", verdict.reason, ""];
      await this.socket.send([routingId, delimiter, "1.0", requestId, status, text, userId, ""]).catch(() => {});
    }
  }

  private logRefusal(verdict: Extract<ZapVerdict, { allowed: false }>, address: string): void {
    this.refusals++;
    const key = verdict.key ?? verdict.reason;
    const firstTime = !this.refusedKeys.has(key) && this.refusedKeys.size < REMEMBERED_REFUSALS;
    if (firstTime) this.refusedKeys.add(key);
    if (firstTime || this.refusals % 1000 === 0) {
      this.log.warn({ key: verdict.key, address, reason: verdict.reason, refusals: this.refusals }, `worker refused: ${verdict.reason}`);
    }
  }
}
