/** The Deno gateway's V8 heap setting: a young generation capped at 2 MiB per semi-space.
 *
 * V8 collects its young generation with a scavenger that copies every live young object, and it grows the young
 * generation while allocation is steady: in the gateway it reached 16 MiB and more per semi-space, and each scavenge
 * then copied megabytes of survivors. In the latency bench (test/bench/gateway-latency.ts --gateway deno, 2000
 * sequential streamed requests plus warm-up, V8's --trace-gc, 2-vCPU VM):
 *
 *   max semi-space   scavenges   median pause   longest   over 5 ms
 *   V8's default         35        4.1–4.6 ms   12–13 ms    13–17
 *   4 MiB               161        1.5–1.6 ms   5.3–8.5 ms   1–2
 *   2 MiB               318        0.9–1.0 ms   3.7–5.3 ms   0–1
 *
 * A scavenge's cost is what survives, and little of a request survives one, so nine times as many scavenges cost far
 * less than the pauses they replace. Full (mark-compact) collections came every ~800 requests either way; their final
 * pause (3–9 ms) is the Deno gateway's remaining stall (edge/README.md).
 *
 * V8 reads its flags once, at process start, from Deno's command line: whoever starts the gateway passes them (`gust
 * dev --gateway deno`, the README's Deno command, docs/deploy/gust-gateway.service, the test launchers), and the
 * gateway says on its first line what young generation it runs with. */

export const MAX_SEMI_SPACE_MIB = 2;
/** Deno's command-line flag carrying the gateway's V8 settings (before the script name). */
export const DENO_GATEWAY_V8_FLAG = `--v8-flags=--max-semi-space-size=${MAX_SEMI_SPACE_MIB}`;

const V8_FLAGS = "--v8-flags=";

/** The V8 flags in a Deno command line, in order (each `--v8-flags=a,b` argument split at its commas). */
export function v8FlagsIn(args: readonly string[]): string[] {
  return args.filter((a) => a.startsWith(V8_FLAGS)).flatMap((a) => a.slice(V8_FLAGS.length).split(","));
}

/** For the startup line: the young-generation cap this process runs with, from its command line (Deno passes
 * `--v8-flags=a,b` to V8; on Linux /proc/self/cmdline shows it, elsewhere `args` is null), and how to set the
 * recommended one where it differs. */
export function denoHeapNote(args: readonly string[] | null): string {
  if (args === null) return "young-generation cap unknown (no /proc/self/cmdline)";
  // V8 takes a flag's last value
  const semi = v8FlagsIn(args).map((f) => /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(f)).filter((m) => m !== null).at(-1);
  const what = semi ? `young generation capped at ${semi[1]} MiB per semi-space` : "V8's default young generation";
  return semi && Number(semi[1]) === MAX_SEMI_SPACE_MIB ? what : `${what}; deno run ${DENO_GATEWAY_V8_FLAG} keeps its scavenges short`;
}
