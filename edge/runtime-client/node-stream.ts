/** ByteStream over `node:net` (Bun; the gateway's tests): Node's socket buffers writes itself, and each chunk it
 * reads is a fresh buffer, handed on as is (no copy on the per-token path). */
import { createConnection } from "node:net";
import type { ByteStream, RuntimeTarget, StreamHandlers } from "./byte-stream.ts";

export function connect(target: RuntimeTarget, handlers: StreamHandlers): Promise<ByteStream> {
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
