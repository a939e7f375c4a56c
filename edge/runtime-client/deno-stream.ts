/** ByteStream over Deno's own sockets (`Deno.connect`), so that the Deno gateway does not load Deno's Node layer.
 * One read loop into a reused 64 KiB buffer, each chunk handed on as a copy of what was read; writes go out one after another
 * through a queue, since a Deno write is asynchronous and may write part of its bytes. Example: write(A, 100 bytes)
 * then write(B) while A is in flight → B queued; A's write returns 60 → A[60..100) goes first, then B. */
import type { ByteStream, RuntimeTarget, StreamHandlers } from "./byte-stream.ts";

interface Conn {
  read(into: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(on: boolean): void;
}

interface DenoNet {
  connect(
    o: { transport: "unix"; path: string } | { transport?: "tcp"; hostname: string; port: number },
  ): Promise<Conn>;
}

const READ_BYTES = 64 * 1024;

export async function connect(target: RuntimeTarget, handlers: StreamHandlers): Promise<ByteStream> {
  const deno = (globalThis as unknown as { Deno: DenoNet }).Deno;
  const conn = "path" in target
    ? await deno.connect({ transport: "unix", path: target.path })
    : await deno.connect({ hostname: target.host, port: target.port });
  if ("host" in target) conn.setNoDelay?.(true); // small frames (abort) go out at once
  let ended = false;
  const end = (why: string) => {
    if (ended) return;
    ended = true;
    try {
      conn.close();
    } catch {
      // already closed by the failure that brought us here
    }
    handlers.closed(why);
  };

  void (async () => {
    const buffer = new Uint8Array(READ_BYTES);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        if (!ended) handlers.data(buffer.slice(0, n)); // a copy: the read buffer is reused
      }
      end("the runtime connection closed");
    } catch (err) {
      end(`the runtime connection failed: ${(err as Error).message}`);
    }
  })();

  // one write in flight at a time, the rest queued; promise callbacks rather than an async loop, which allocated
  // ~3.5 KiB more per request (gateway-survival.ts)
  const queue: Uint8Array[] = [];
  let writing = false;
  const send = (bytes: Uint8Array): void => {
    writing = true;
    conn.write(bytes).then(
      (n) => {
        if (n < bytes.length) queue.unshift(bytes.subarray(n));
        const next = queue.shift();
        if (next && !ended) send(next);
        else writing = false;
      },
      (err: Error) => {
        writing = false;
        end(`the runtime connection failed: ${err.message}`);
      },
    );
  };

  return {
    write: (bytes) => {
      if (ended) return;
      if (writing) queue.push(bytes);
      else send(bytes);
    },
    close: () => {
      if (ended) return;
      ended = true;
      queue.length = 0;
      conn.close();
    },
  };
}
