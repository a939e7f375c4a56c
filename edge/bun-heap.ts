/** The Bun gateway's garbage-collector settings: its young-generation budget, and Bun's own GC timer off.
 *
 * JavaScriptCore collects its young generation ("eden") for two reasons: `largeHeapSize` bytes were allocated since
 * the last collection (Bun leaves that at 8 MiB), or its activity timer decided it was time. A streamed chat request
 * allocates ≈ 45 KiB in the gateway (test/bench/gateway-alloc.ts --engine bun). Under load the allowance is reached
 * first, so it sets how many requests pay a collection pause. Measured in-process on the 2-vCPU VM, 20 000 streamed
 * chat requests back to back (JSC's own log, BUN_JSC_logGC=1):
 *
 *   budget   collections   median pause   pause time in all
 *    8 MiB        113         ≈ 1.7 ms        ≈ 200 ms
 *   32 MiB         29         ≈ 2.1 ms        ≈  60 ms
 *   64 MiB         14         ≈ 3.3 ms        ≈  46 ms   (pauses near the 5 ms stall target)
 *
 * An eden collection marks what survived, not what died, so a 4× budget costs only a slightly longer pause. At a
 * sequential request rate the activity timer collects first (17 collections per 3000 requests, all of them timed),
 * and the budget changes nothing there.
 *
 * Bun adds a timer of its own: every second while the heap's block count changes it asks JSC for a collection,
 * whatever JSC's pacing says (BUN_GC_TIMER_DISABLE, set to anything, turns it off). In the latency bench
 * (test/bench/gateway-latency.ts --gc-log, 2000 sequential requests) it brought a full collection into nearly every
 * run (pauses 1.2–5.8 ms, plus the collector's marking threads beside the request), and the busiest requests of most
 * runs had one inside. With the timer off: no full collection in 4 runs of 2000, the GC helper thread's CPU down from
 * 21–28 ms to 8–9 ms per run. JSC's own triggers (the budget, its activity callbacks) still bound the heap: 24 000
 * requests from 4 concurrent clients left the gateway at 89–108 MiB resident either way (71 young collections and 2
 * full with the timer off, 99 and 3 with it on).
 *
 * JSC and Bun read these once, at process start, from the environment: whoever starts the gateway sets them
 * (docs/deploy/gust-gateway.service, the README's serve command, the test launchers), and `gust serve` says on its
 * first line which settings it runs with. */

export const EDEN_BUDGET_ENV = "BUN_JSC_largeHeapSize";
export const GATEWAY_EDEN_BUDGET_BYTES = 32 * 2 ** 20;
/** Bun turns its GC timer off when this variable exists, whatever its value. */
export const GC_TIMER_OFF_ENV = "BUN_GC_TIMER_DISABLE";
/** Environment to start a Bun gateway process with. */
export const GATEWAY_BUN_ENV: Readonly<Record<string, string>> = {
  [EDEN_BUDGET_ENV]: String(GATEWAY_EDEN_BUDGET_BYTES),
  [GC_TIMER_OFF_ENV]: "1",
};
const BUN_DEFAULT_BYTES = 8 * 2 ** 20;

/** For the startup line: the GC settings this process runs with, and how to set the recommended ones where they differ. */
export function gcSettingsNote(env: Record<string, string | undefined>): string {
  const timer = env[GC_TIMER_OFF_ENV] === undefined
    ? `Bun's GC timer on; ${GC_TIMER_OFF_ENV}=1 keeps its full collections out of requests`
    : "Bun's GC timer off";
  return `${edenBudgetNote(env)}; ${timer}`;
}

function edenBudgetNote(env: Record<string, string | undefined>): string {
  const raw = env[EDEN_BUDGET_ENV];
  const bytes = raw === undefined ? BUN_DEFAULT_BYTES : Number(raw);
  const mib = (n: number) => `${+(n / 2 ** 20).toFixed(1)} MiB`;
  if (!Number.isInteger(bytes) || bytes <= 0) {
    return `${EDEN_BUDGET_ENV}=${
      JSON.stringify(raw)
    } is not a byte count; set ${EDEN_BUDGET_ENV}=${GATEWAY_EDEN_BUDGET_BYTES}`;
  }
  const what = `young-generation GC budget ${mib(bytes)}${raw === undefined ? " (Bun's default)" : ""}`;
  return bytes === GATEWAY_EDEN_BUDGET_BYTES
    ? what
    : `${what}; ${EDEN_BUDGET_ENV}=${GATEWAY_EDEN_BUDGET_BYTES} (${
      mib(GATEWAY_EDEN_BUDGET_BYTES)
    }) collects 4× less often under load`;
}
