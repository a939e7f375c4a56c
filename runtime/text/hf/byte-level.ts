/** GPT-2 byte-level alphabet: the printable stand-in char for each byte, and back. */

let table: Map<string, number> | null = null;

/** char -> byte of the byte-level alphabet. */
export function unicodeToBytes(): Map<string, number> {
  if (table) return table;
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  table = new Map(bs.map((b, i) => [String.fromCharCode(cs[i]), b]));
  return table;
}

/** Bytes of a byte-level token string, or null if a char is outside the alphabet. */
export function byteLevelTokenBytes(token: string): Uint8Array | null {
  const t = unicodeToBytes();
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = t.get(token[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}
