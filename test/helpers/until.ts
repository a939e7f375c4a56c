// Waiting for something another process does (a log line, a metric, a restart), with the thing named in the error.

/** Polls `check` every 25 ms until it holds; throws naming `what` (and `output()`, when given) after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 60_000,
  output?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${output ? `:\n${output()}` : ""}`);
}
