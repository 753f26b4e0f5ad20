/**
 * Debian's Chromium, driven by playwright-core, for the tests of pages (the dashboard, /docs).
 * Where it cannot run, a test skips with the reason, except under CI (CI=true), where it
 * fails: CI installs Chromium, so its absence there is a defect.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env.FAAS_CHROMIUM ?? "/usr/bin/chromium";

/** Launches Chromium, or says why it cannot. */
export async function launchChromium(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} does not exist (apt-get install -y chromium, or set FAAS_CHROMIUM)`;
  try {
    return await chromium.launch({
      executablePath: CHROMIUM, headless: true, timeout: 30_000,
      // As root in a container there is no sandbox to use; the closed network refuses Chromium's own calls home.
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  } catch (error) {
    return `Chromium at ${CHROMIUM} does not start here: ${(error as Error).message.split("\n")[0]}`;
  }
}

/** A browser for a test file, or the reason there is none; under CI, no browser is an error. */
export async function browserOrReason(what: string): Promise<Browser | string> {
  const launched = await launchChromium();
  if (typeof launched === "string") {
    if (process.env.CI) throw new Error(`${what} needs Chromium under CI: ${launched}`);
    console.warn(`${what} is skipped: ${launched}`);
  }
  return launched;
}
