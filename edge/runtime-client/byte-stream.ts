/** The connection under the runtime client: an ordered byte stream to the runtime, over a Unix socket or TCP
 * (`node:net` on Bun and Deno alike). Node's socket buffers writes itself, and each chunk it reads is a fresh
 * buffer, handed on as is (no copy on the per-token path). */
import { createConnection } from "node:net";

/** "unix:/path", "tcp:host:port", "host:port" or a bare socket path, parsed. */
export type RuntimeTarget = { path: string } | { host: string; port: number };

export interface ByteStream {
  /** Queues bytes to send, in call order; a failure is reported through `closed`. */
  write(bytes: Uint8Array): void;
  /** Ends the connection; `closed` is not called for it. */
  close(): void;
}

export interface StreamHandlers {
  /** A chunk as read, the handler's to keep (the frame decoder holds a partial frame's chunks until the rest comes). */
  data(chunk: Uint8Array): void;
  /** Called at most once, when the peer closes the connection or it fails; `why` says which. */
  closed(why: string): void;
}

/** Opens the connection; rejects with the system's reason when it cannot. */
export function connectByteStream(target: RuntimeTarget, handlers: StreamHandlers): Promise<ByteStream> {
  return new Promise((resolve, reject) => {
    const socket = "path" in target
      ? createConnection({ path: target.path })
      : createConnection({ host: target.host, port: target.port });
    let open = false;
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      handlers.closed(why);
    };
    socket.once("connect", () => {
      open = true;
      if ("host" in target) socket.setNoDelay(true); // small frames (abort) go out at once
      resolve({
        write: (bytes) => void socket.write(bytes),
        close: () => {
          ended = true;
          socket.destroy();
        },
      });
    });
    socket.on("data", (chunk: Uint8Array) => handlers.data(chunk));
    socket.on("error", (err: Error) => (open ? end(`the runtime connection failed: ${err.message}`) : reject(err)));
    socket.on("close", () => open && end("the runtime connection closed"));
  });
}

/** "unix:/path", "tcp:host:port", "host:port" or a bare socket path. */
export function parseRuntimeAddress(address: string): RuntimeTarget {
  if (address.startsWith("unix:")) return { path: address.slice(5) };
  const tcp = address.startsWith("tcp:") ? address.slice(4) : address;
  const m = /^([^/:]+|\[[^\]]+\]):(\d+)$/.exec(tcp);
  if (m) return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  return { path: address };
}
