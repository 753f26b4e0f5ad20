/**
 * The receiving loop of every socket (the dispatcher's ROUTER, a worker's DEALER, the ZAP
 * handler): read messages until the socket is closed, which is how each of them stops.
 */
interface Receivable {
  receive(): Promise<Buffer[]>;
}

/** Hands each message's frames on, one at a time (the next is read once `handle` is done); resolves when the socket closes. */
export async function receiveUntilClosed(socket: Receivable, handle: (frames: Buffer[]) => void | Promise<void>): Promise<void> {
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch {
      return; // the socket was closed
    }
    await handle(frames);
  }
}
