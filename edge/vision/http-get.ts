/** A minimal HTTP/1.1 GET over a socket we connected ourselves (to an address we checked). Writing it, rather
 * than using fetch, is what lets the caller choose the exact IP: fetch resolves the name again on its own.
 * Reads the status and headers (at most 16 KiB), stops at a redirect, and reads a body framed by
 * Content-Length, chunked encoding, or connection close — never more than `maxBodyBytes`. */
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { num, VisionError } from "./errors.ts";

export interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

const MAX_HEADER_BYTES = 16 * 1024;
const fetchError = (m: string) => new VisionError(400, "image_url_fetch", m);
const tooBig = (n: number, max: number, what: string) =>
  new VisionError(
    413,
    "image_too_many_bytes",
    `image URL ${what} ${num(n)} bytes; the limit is ${num(max)} bytes per image`,
  );

function parseHead(text: string): { status: number; headers: Map<string, string> } {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw fetchError("image URL did not answer with HTTP/1.x");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { status: Number(m[1]), headers };
}

/** Incremental chunked-transfer decoder: size line, data, CRLF, ..., a zero-size chunk ends it. */
class Dechunker {
  private buf = new Uint8Array(0);
  private need = -1; // bytes of data left in the current chunk; -1: expecting a size line
  done = false;
  readonly parts: Uint8Array[] = [];
  size = 0;

  push(data: Uint8Array): void {
    const joined = new Uint8Array(this.buf.length + data.length);
    joined.set(this.buf);
    joined.set(data, this.buf.length);
    let o = 0;
    while (!this.done) {
      if (this.need < 0) {
        const nl = joined.indexOf(0x0a, o);
        if (nl < 0) break;
        const line = new TextDecoder().decode(joined.subarray(o, nl)).trim();
        o = nl + 1;
        if (line === "") continue; // the CRLF after a chunk's data
        const n = parseInt(line.split(";")[0], 16);
        if (!Number.isFinite(n) || n < 0) throw fetchError("image URL sent a malformed chunked body");
        if (n === 0) this.done = true;
        this.need = n;
      } else {
        const take = Math.min(this.need, joined.length - o);
        if (take === 0) break;
        this.parts.push(joined.slice(o, o + take));
        this.size += take;
        this.need -= take;
        o += take;
        if (this.need === 0) this.need = -1;
      }
    }
    this.buf = joined.slice(o);
    if (this.buf.length > MAX_HEADER_BYTES) throw fetchError("image URL sent a malformed chunked body");
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Send one GET on `socket` and read the answer. The socket is destroyed when this settles. */
export function httpGet(
  socket: Duplex,
  req: { path: string; hostHeader: string },
  maxBodyBytes: number,
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let head: { status: number; headers: Map<string, string> } | null = null;
    let headBuf = new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let size = 0;
    let length = -1; // Content-Length, when given
    let chunked: Dechunker | null = null;
    let settled = false;
    const finish = (e: Error | null, r?: HttpResponse) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (e) reject(e);
      else resolve(r!);
    };
    // bytes past Content-Length (a misbehaving server) are dropped
    const complete = () =>
      finish(null, {
        status: head!.status,
        headers: head!.headers,
        body: chunked
          ? concat(chunked.parts, chunked.size)
          : concat(parts, size).subarray(0, length >= 0 ? length : size),
      });
    const onBody = (data: Uint8Array) => {
      if (chunked) {
        chunked.push(data);
        if (chunked.size > maxBodyBytes) return finish(tooBig(chunked.size, maxBodyBytes, "sent more than"));
        if (chunked.done) complete();
        return;
      }
      parts.push(data);
      size += data.length;
      if (size > maxBodyBytes) return finish(tooBig(size, maxBodyBytes, "sent more than"));
      if (length >= 0 && size >= length) complete();
    };
    socket.on("data", (chunk: Uint8Array) => {
      if (settled) return;
      try {
        if (head) return onBody(chunk);
        const joined = new Uint8Array(headBuf.length + chunk.length);
        joined.set(headBuf);
        joined.set(chunk, headBuf.length);
        const end = Buffer.from(joined.buffer, joined.byteOffset, joined.byteLength).indexOf("\r\n\r\n");
        if (end < 0) {
          if (joined.length > MAX_HEADER_BYTES) {
            return finish(fetchError(`image URL sent more than ${num(MAX_HEADER_BYTES)} bytes of headers`));
          }
          headBuf = joined;
          return;
        }
        head = parseHead(Buffer.from(joined.buffer, joined.byteOffset, end).toString("latin1"));
        // Redirects and errors: the status and headers are all we need.
        if (head.status !== 200) {
          return finish(null, { status: head.status, headers: head.headers, body: new Uint8Array(0) });
        }
        const te = head.headers.get("transfer-encoding")?.toLowerCase();
        if (te && te !== "identity") {
          if (te !== "chunked") {
            return finish(fetchError(`image URL used transfer encoding ${te}; supported: chunked, identity`));
          }
          chunked = new Dechunker();
        } else if (head.headers.has("content-length")) {
          length = Number(head.headers.get("content-length"));
          if (!Number.isSafeInteger(length) || length < 0) {
            return finish(fetchError("image URL sent an invalid Content-Length"));
          }
          if (length > maxBodyBytes) return finish(tooBig(length, maxBodyBytes, "announced"));
        }
        const rest = joined.subarray(end + 4);
        if (rest.length || length === 0) onBody(rest);
      } catch (e) {
        finish(e as Error);
      }
    });
    socket.on("end", () => {
      if (!head) return finish(fetchError("image URL closed the connection before answering"));
      if (chunked || length >= 0) {
        return finish(fetchError("image URL closed the connection before the whole image arrived"));
      }
      complete(); // body framed by connection close
    });
    socket.on("close", () => finish(fetchError("image URL closed the connection before answering")));
    socket.on("error", () => finish(fetchError("image URL connection failed")));
    socket.write(
      `GET ${req.path} HTTP/1.1\r\nHost: ${req.hostHeader}\r\nUser-Agent: gust-vision\r\nAccept: image/png, image/jpeg, image/gif, image/webp\r\n` +
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
    );
  });
}
