/**
 * A pull worker asks for as many tasks as it has idle executors not already asked for, and
 * asks again only when executors become idle: an idle worker sends nothing but heartbeats.
 */
import type { Demand } from "./demand.js";

export function pullDemand(request: (count: number) => void): Demand {
  let outstanding = 0; // asked for, not yet received
  const askFor = (free: number) => {
    const wanted = free - outstanding;
    if (wanted > 0) {
      outstanding += wanted;
      request(wanted);
    }
  };
  return {
    welcomed(free) {
      outstanding = 0;
      askFor(free);
    },
    received() {
      outstanding = Math.max(0, outstanding - 1);
    },
    finished: askFor,
  };
}
