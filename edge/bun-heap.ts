/** The Bun gateway's garbage-collector settings, read by JavaScriptCore and Bun once at process start from the
 * environment, so whoever starts the gateway sets them (docs/deploy/gust-gateway.service, the test launchers):
 *  - a 32 MiB young-generation ("eden") budget where Bun leaves 8 MiB: under load the budget decides how many
 *    requests pay a collection pause, and an eden collection marks only survivors, so 4× the budget means about 4×
 *    fewer pauses, each slightly longer;
 *  - Bun's own GC timer off: it asks for a full collection every second while the heap changes, whatever JSC's
 *    pacing says; JSC's own triggers still bound the heap.
 * The measurements behind both: docs/notes/2026-11-23-gateway-gc.md. */

/** Environment to start a Bun gateway process with. */
export const GATEWAY_BUN_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_largeHeapSize: String(32 * 2 ** 20),
  /** Bun turns its GC timer off when this variable exists, whatever its value. */
  BUN_GC_TIMER_DISABLE: "1",
};
