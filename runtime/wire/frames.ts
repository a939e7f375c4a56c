// Length-prefixed frames between gateways and the runtime over a Unix (or loopback TCP) socket.
// Pure TypeScript on Uint8Array so Bun (runtime, gateway) and Deno (gateway) share it.
//
// frame := u32le bodyLength | u32le jsonLength | JSON (UTF-8) | binary attachment
// Example: {"type":"abort","id":"7"} is 24 bytes of JSON, no attachment →
//   bodyLength = 4 + 24 = 28; the frame is 4 + 28 = 32 bytes.

export interface Frame<T = unknown> {
  message: T;
  /** Binary attachment (prompt images, tokenizer file); empty when absent. */
  binary: Uint8Array;
}

/** Frames above this size are refused (a bug or a hostile peer, never a real request). */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeFrame(message: unknown, binary: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = encoder.encode(JSON.stringify(message));
  const body = 4 + json.byteLength + binary.byteLength;
  if (body > MAX_FRAME_BYTES) throw new RangeError(`Frame of ${body} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  const out = new Uint8Array(4 + body);
  const view = new DataView(out.buffer);
  view.setUint32(0, body, true);
  view.setUint32(4, json.byteLength, true);
  out.set(json, 8);
  out.set(binary, 8 + json.byteLength);
  return out;
}

export class FrameError extends Error {
  override name = "FrameError";
}

/** Accumulates socket chunks and yields complete frames. */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  push(chunk: Uint8Array): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    const frames: Frame[] = [];
    while (this.#buffered >= 4) {
      const head = this.#peek(4);
      const body = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (body < 4 || body > MAX_FRAME_BYTES) {
        throw new FrameError(`Invalid frame length ${body}: the peer does not speak the gust protocol`);
      }
      if (this.#buffered < 4 + body) break;
      const bytes = this.#take(4 + body);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const jsonLength = view.getUint32(4, true);
      if (jsonLength > body - 4) {
        throw new FrameError(`Frame JSON length ${jsonLength} exceeds its body of ${body - 4} bytes`);
      }
      let message: unknown;
      try {
        message = JSON.parse(decoder.decode(bytes.subarray(8, 8 + jsonLength)));
      } catch (err) {
        throw new FrameError(`Frame JSON is invalid: ${(err as Error).message}`);
      }
      frames.push({ message, binary: bytes.subarray(8 + jsonLength) });
    }
    return frames;
  }

  #peek(n: number): Uint8Array {
    if (this.#chunks[0].byteLength >= n) return this.#chunks[0].subarray(0, n);
    return this.#take(n, false);
  }

  #take(n: number, consume = true): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0, i = 0;
    while (filled < n) {
      const c = this.#chunks[i];
      const part = Math.min(c.byteLength, n - filled);
      out.set(c.subarray(0, part), filled);
      filled += part;
      if (consume) {
        if (part === c.byteLength) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(part);
      } else i++;
    }
    if (consume) this.#buffered -= n;
    return out;
  }
}
