/** The Deno gateway's V8 setting: the young generation capped at 2 MiB per semi-space. V8 grows its young
 * generation while allocation is steady (16 MiB and more per semi-space in the gateway), and its scavenger copies
 * every live young object, so each scavenge then copied megabytes; capped, scavenges stay under about a millisecond
 * (measurements: docs/notes/2026-11-23-gateway-gc.md). V8 reads it once, from Deno's command line: whoever starts
 * the gateway passes it (`gust dev --gateway deno`, docs/deploy/gust-gateway.service, the test launchers). */

export const MAX_SEMI_SPACE_MIB = 2;
/** Deno's command-line flag carrying the gateway's V8 setting (before the script name). */
export const DENO_GATEWAY_V8_FLAG = `--v8-flags=--max-semi-space-size=${MAX_SEMI_SPACE_MIB}`;
