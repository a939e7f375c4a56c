// Headless Chromium for the playground tests: Debian's `chromium` (or GUST_CHROMIUM), driven by playwright-core.
// Where either is missing the suite skips, saying why.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const CANDIDATES = [process.env.GUST_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];

export const chromiumPath: string | null = CANDIDATES.find((p): p is string => !!p && existsSync(p)) ?? null;

function hasPlaywright(): boolean {
  try {
    createRequire(import.meta.url).resolve("playwright-core");
    return true;
  } catch {
    return false;
  }
}

export const skipReason = chromiumPath === null
  ? "no Chromium at /usr/bin/chromium (install Debian's `chromium`, as .ci/run does, or set GUST_CHROMIUM)"
  : !hasPlaywright()
  ? "playwright-core is not installed (run `npm install`: it is a devDependency)"
  : null;

export async function launch() {
  const { chromium } = await import("playwright-core");
  // root in a container has no user namespace for Chromium's sandbox; the page is our own, served locally
  return await chromium.launch({ executablePath: chromiumPath!, headless: true, args: ["--no-sandbox"] });
}
