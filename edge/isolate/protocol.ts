// The channel between the gateway and a function's isolate (host.ts in its own Deno process): one JSON object per
// line on the isolate's stdin (to it) and stdout (from it). Bodies travel base64-encoded; a response body is sent a
// chunk per `pull`, so an isolate streaming without end cannot fill the gateway's memory. The only thing the isolate
// can ask the gateway for is the model (`model-call`): this channel reaches no admin route, file or key.
//
// Worked example, one request whose handler calls model.chat:
//   → {"t":"req","id":1,"method":"GET","url":"http://fn/","headers":[],"body":null,"requestId":"r1",...}
//   ← {"t":"model-call","call":1,"req":1,"op":"chat","input":{...}}
//   → {"t":"model-result","call":1,"value":{"content":"hi",...}}
//   ← {"t":"res-head","id":1,"status":200,"headers":[["content-type","text/plain"]]}
//   → {"t":"pull","id":1}   ← {"t":"res-chunk","id":1,"data":"aGk="}   → {"t":"pull","id":1}   ← {"t":"res-end","id":1}

export interface ReqFrame {
  t: "req";
  id: number;
  method: string;
  url: string;
  headers: [string, string][];
  body: string | null;
  requestId: string;
  reasoning: { effort: "none" | "high"; budgetTokens: number | null };
  /** What the function may read of the model (model.info), or null while no runtime is connected. */
  model: ModelFacts | null;
  /** Why the model is unavailable, when `model` is null. */
  modelDown?: string;
}

export interface ModelFacts {
  id: string;
  contextLength: number;
  vocabSize: number;
  hasVision: boolean;
}

/** Gateway → isolate. */
export type ToIsolate =
  | ReqFrame
  | { t: "pull"; id: number }
  | { t: "abort"; id: number }
  | { t: "ping"; n: number }
  | { t: "model-result"; call: number; value: unknown }
  | { t: "model-event"; call: number; event: unknown }
  | { t: "model-end"; call: number }
  | { t: "model-error"; call: number; error: WireError };

export interface WireError {
  message: string;
  status?: number;
  code?: string;
}

/** What a loaded function declares, as the gateway needs it (JSON-safe). */
export interface Declared {
  name?: string;
  limits?: unknown;
  reasoning?: unknown;
  allowHosts?: unknown;
}

/** What an isolate may ask of the model: chat, stream (events), prepareImages (input: {body, options}), tokenize. */
export type ModelOp = "chat" | "stream" | "prepareImages" | "tokenize";

/** Isolate → gateway. */
export type FromIsolate =
  | { t: "ready"; declared: Declared }
  | { t: "load-error"; message: string }
  | { t: "pong"; n: number }
  | { t: "res-head"; id: number; status: number; headers: [string, string][] }
  | { t: "res-chunk"; id: number; data: string }
  | { t: "res-end"; id: number }
  | { t: "res-error"; id: number; message: string; notResponse?: string }
  /** The isolate is done with a request: its handler settled and its body ended or was cancelled. */
  | { t: "done"; id: number }
  | { t: "model-call"; call: number; req: number; op: ModelOp; input: unknown }
  | { t: "model-abort"; call: number };

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// Frames carry bytes (image parts, prepared pixels) and maps (prepared images by source): tagged objects in JSON.
// Worked example: new Map([["a", new Uint8Array([1, 2])]]) ⇄ {"$map":[["a",{"$u8":"AQI="}]]}.
const tag = (_key: string, value: unknown): unknown => {
  if (value instanceof Uint8Array) return { $u8: toBase64(value) };
  if (value instanceof Map) return { $map: [...value] };
  return value;
};
const untag = (_key: string, value: unknown): unknown => {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const v = value as { $u8?: unknown; $map?: unknown };
    if (typeof v.$u8 === "string" && Object.keys(v).length === 1) return fromBase64(v.$u8);
    if (Array.isArray(v.$map) && Object.keys(v).length === 1) return new Map(v.$map as [unknown, unknown][]);
  }
  return value;
};

/** One frame as a line of JSON (no newline inside: JSON.stringify escapes them). */
export function encodeFrame(frame: unknown, stringify: typeof JSON.stringify = JSON.stringify): string {
  return stringify(frame, tag) + "\n";
}

export function decodeFrame<T>(line: string, parse: typeof JSON.parse = JSON.parse): T {
  return parse(line, untag) as T;
}

/** Splits a byte stream into lines; `onLine` gets each complete line (without its newline). */
export function lineReader(onLine: (line: string) => void): (chunk: Uint8Array) => void {
  const decoder = new TextDecoder();
  let pending = "";
  return (chunk) => {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.length > 0) onLine(line);
    }
  };
}
