/** UTF-8 helpers shared by the tokenizers and the detokenizer (TextEncoder/TextDecoder exist on Bun and Deno). */

const encoder = new TextEncoder();

export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decode bytes; invalid sequences become U+FFFD (as Python's errors="replace" and tiktoken's decode). */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes);
}

/** A byte string as a "binary" JS string: one char per byte (char code 0..255), the key tekken's RankTable looks up. */
export function bytesToKey(bytes: Uint8Array): string {
  let out = "";
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return out;
}

export function keyToBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/** True when every UTF-16 unit is ASCII: then the string is its own UTF-8 byte key. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Concatenate byte arrays. */
export function concatBytes(parts: Uint8Array[], total?: number): Uint8Array {
  const n = total ?? parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Incremental UTF-8 decoding: push token bytes, get back only complete characters; bytes of a character cut at a
 * chunk edge wait for the next push. `flush()` ends the stream (a dangling partial character becomes U+FFFD).
 */
export class Utf8Stream {
  private dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  push(bytes: Uint8Array): string {
    return bytes.length === 0 ? "" : this.dec.decode(bytes, { stream: true });
  }
  flush(): string {
    const s = this.dec.decode();
    this.dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
    return s;
  }
}
