/** The connection under the runtime client: an ordered byte stream to the runtime, over a Unix socket or TCP.
 * Deno uses its own `Deno.connect` (deno-stream.ts), anything else `node:net` (node-stream.ts), each loaded only on
 * its own runtime so that the Deno gateway never loads Deno's Node layer (../platform/system.ts says why). */
import { denoNamespace } from "../platform/system.ts";

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
export async function connectByteStream(target: RuntimeTarget, handlers: StreamHandlers): Promise<ByteStream> {
  const impl = denoNamespace() ? await import("./deno-stream.ts") : await import("./node-stream.ts");
  return impl.connect(target, handlers);
}
