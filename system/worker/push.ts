/** A push worker never asks: the dispatcher sends it tasks up to the capacity it registered. */
import type { Demand } from "./demand.js";

export const pushDemand: Demand = {
  welcomed() {},
  finished() {},
};
