/**
 * Requests Node's HTTP parser refuses (fastify's `clientErrorHandler`): headers too large, a
 * Content-Length twice or with Transfer-Encoding, a method HTTP does not define, bytes that
 * are not HTTP at all. They never become requests, so no hook or handler runs: the answer,
 * the same `{error, code}` body as every other (describeClientError), is written on the
 * socket, which is then closed, since nothing after the bad bytes can be read as a request.
 */
import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../log.js";
import { describeClientError, type ParserError } from "./errors.js";

/** How long a closed connection may go on sending (and being read) before it is cut off. */
const LINGER_MS = 2000;

const answered = new WeakSet<Socket>();

export function answerClientError(error: ParserError, socket: Socket, log: Logger): void {
  // A connection reset, or one already gone: there is nobody to answer.
  if (error.code === "ECONNRESET" || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const { statusCode, body, headers } = describeClientError(error);
  log.debug({ err: { code: error.code, reason: error.reason } }, "refused a request the HTTP parser could not read");
  const text = JSON.stringify(body);
  const message = [
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}`,
    "content-type: application/json; charset=utf-8",
    `content-length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "connection: close",
    "",
    text,
  ].join("\r\n");
  const send = () => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // end, not destroy: closing with unread bytes would make the kernel send a reset, and the
    // client could lose the answer. The client's FIN then closes it; a client that goes on
    // sending is cut off after LINGER_MS.
    socket.end(message);
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once("close", () => clearTimeout(timer));
  };
  // A pipelined request whose answer is still being made (Node's own field, which its default
  // handler reads too): the answers must stay in order, so this one goes after it.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableEnded) inFlight.once("close", send);
  else send();
}
