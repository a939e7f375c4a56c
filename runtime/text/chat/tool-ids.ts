/** Tool-call ids: Mistral's are 9 letters/digits. Other dialects' ids ("call_abc...") are mapped to such ids with a
 * stable hash, so validation and result ordering work the same; v15 prompts never contain the ids themselves. */

export const TOOL_CALL_ID_RE = /^[a-zA-Z0-9]{9}$/;
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The id itself if it is already 9 alphanumerics, else a stable 9-character id derived from it. */
export function mistralToolCallId(id: string): string {
  if (TOOL_CALL_ID_RE.test(id)) return id;
  // two independent 32-bit FNV-1a hashes -> 62^9 space
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    h2 ^= h2 >>> 13;
  }
  let n = BigInt(h1) * 4294967296n + BigInt(h2 >>> 0);
  let out = "";
  for (let k = 0; k < 9; k++) {
    out += ALNUM[Number(n % 62n)];
    n /= 62n;
  }
  return out;
}

/** A fresh random id for a tool call the model made (what Mistral's API and vLLM return). */
export function newToolCallId(random: () => number = Math.random): string {
  let out = "";
  for (let k = 0; k < 9; k++) out += ALNUM[Math.floor(random() * 62)];
  return out;
}
