/** The Deno gateway's V8 heap settings: a young generation capped at 2 MiB per semi-space, and, where V8's helper
 * threads get a core (`--gc-threads normal`, the default), full-collection marking moved off the event loop.
 *
 * Young generation. V8's scavenger copies every live young object, and V8 grows the young generation while
 * allocation is steady: in the gateway it reached 16 MiB and more per semi-space, and each scavenge then copied
 * megabytes of survivors. In the latency bench (test/bench/gateway-latency.ts --gateway deno, 2000 sequential streamed
 * requests plus warm-up, V8's --trace-gc, 2-vCPU VM):
 *
 *   max semi-space   scavenges   median pause   longest   over 5 ms
 *   V8's default         35        4.1–4.6 ms   12–13 ms    13–17
 *   4 MiB               161        1.5–1.6 ms   5.3–8.5 ms   1–2
 *   2 MiB               318        0.9–1.0 ms   3.7–5.3 ms   0–1
 *
 * Full collections. V8 drives incremental marking with a task that posts the next one as it ends, and Deno runs the
 * loop's pending V8 tasks until there are none, so once marking starts the loop runs it back to back until it is done,
 * waiting in empty steps for the concurrent markers where they hold the rest: 5.7–18 ms of the loop in one or two
 * request windows per full collection (test/bench/gateway-saturated-gc.ts). `--no-incremental-marking-task` leaves
 * marking to the concurrent markers and to small steps as the loop allocates (0.1–1.9 ms of the loop per collection),
 * and `--no-compaction-on-regular-gcs` keeps old-space compaction out of the final pause under load (V8 still compacts
 * in the collections its memory reducer runs when the gateway is idle). Both need the markers to get a core: with
 * them under SCHED_IDLE on the loop's own busy core (`--gc-threads idle`) marking fell behind, the heap grew to 100 MB
 * and final pauses took 21–25 ms, so `--gc-threads idle` keeps V8's marking tasks.
 *
 * V8 reads its flags once, at process start, from Deno's command line: whoever starts the gateway passes them (`gust
 * dev --gateway deno`, the README's Deno command, docs/deploy/gust-gateway.service, the test launchers), and the
 * gateway says on its first line which settings it runs with. */
import type { GcThreadsMode } from "./helper-threads.ts";

export const MAX_SEMI_SPACE_MIB = 2;
/** V8 flags that take full-collection marking and compaction off the loop, for helpers that have a core. */
const OFF_LOOP_MARKING_FLAGS = ["--no-incremental-marking-task", "--no-compaction-on-regular-gcs"] as const;

/** Deno's command-line flag carrying the gateway's V8 settings (before the script name) for a `--gc-threads` mode. */
export function denoGatewayV8Flag(gcThreads: GcThreadsMode = "normal"): string {
  return `--v8-flags=${
    [`--max-semi-space-size=${MAX_SEMI_SPACE_MIB}`, ...(gcThreads === "normal" ? OFF_LOOP_MARKING_FLAGS : [])].join(",")
  }`;
}
/** The flag for the default `--gc-threads normal`. */
export const DENO_GATEWAY_V8_FLAG = denoGatewayV8Flag("normal");

const V8_FLAGS = "--v8-flags=";

/** The V8 flags in a Deno command line, in order (each `--v8-flags=a,b` argument split at its commas). */
export function v8FlagsIn(args: readonly string[]): string[] {
  return args.filter((a) => a.startsWith(V8_FLAGS)).flatMap((a) => a.slice(V8_FLAGS.length).split(","));
}

/** A boolean V8 flag's value in `flags` (V8 takes the last; `--no-x` is false; `-` and `_` alike), or `fallback`. */
function v8Bool(flags: readonly string[], name: string, fallback: boolean): boolean {
  const norm = (f: string) => f.replace(/_/g, "-");
  const last = flags.map(norm).filter((f) => f === `--${name}` || f === `--no-${name}`).at(-1);
  return last === undefined ? fallback : last === `--${name}`;
}

/** For the startup line: the heap settings this process runs with, from its command line (Deno passes `--v8-flags=a,b`
 * to V8; on Linux /proc/self/cmdline shows it, elsewhere `args` is null), and what to change where they differ from
 * the recommended ones for `gcThreads` (denoGatewayV8Flag). */
export function denoHeapNote(args: readonly string[] | null, gcThreads: GcThreadsMode = "normal"): string {
  if (args === null) return "V8 heap settings unknown (no /proc/self/cmdline)";
  const flags = v8FlagsIn(args);
  const semi = flags.map((f) => /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(f)).filter((m) => m !== null).at(-1);
  const young = semi ? `young generation capped at ${semi[1]} MiB per semi-space` : "V8's default young generation";
  const marking = v8Bool(flags, "incremental-marking-task", true)
    ? "marking on the event loop"
    : "marking off the event loop";
  const recommended = denoGatewayV8Flag(gcThreads);
  const expected = v8FlagsIn([recommended]);
  const semiOk = semi !== undefined && Number(semi[1]) === MAX_SEMI_SPACE_MIB;
  const markingOk = OFF_LOOP_MARKING_FLAGS.every((f) => {
    const name = f.replace(/^--no-/, "");
    return v8Bool(flags, name, true) === v8Bool(expected, name, true);
  });
  if (semiOk && markingOk) return `${young}, ${marking}`;
  const why = !markingOk && gcThreads === "idle"
    ? "(with --gc-threads idle the markers cannot keep up off the loop)"
    : "(shorter collections)";
  return `${young}, ${marking}; deno run ${recommended} ${why}`;
}
