/** What a checker says: Jepsen's three verdicts, a headline figure, and the evidence. */
export interface CheckResult {
  name: string;
  verdict: "pass" | "fail" | "unknown";
  /** One line with the number that decided it: "0 of 1234 accepted tasks lost". */
  figure: string;
  /** Up to a few examples of what went wrong. */
  details: string[];
}

export const MAX_DETAILS = 10;
