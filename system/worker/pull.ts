/**
 * A pull worker says how many executors it has idle, when it is welcomed and each time a
 * task finishes; an idle worker sends nothing but heartbeats. The count is absolute (the
 * dispatcher subtracts the tasks already on their way), so a repeated or late request
 * cannot make the dispatcher send more than the worker can run.
 */
import type { Demand } from "./demand.js";

export function pullDemand(request: (idle: number) => void): Demand {
  const ask = (idle: number) => {
    if (idle > 0) request(idle);
  };
  return { welcomed: ask, finished: ask };
}
