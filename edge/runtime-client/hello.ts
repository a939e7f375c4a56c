// What a runtime says first on a connection, read by the gateway: a refusal (its shared token), another protocol, or
// its hello, checked against the wire schema and turned into the ModelInfo the routes and functions see, with the
// tokenizer loaded from the files the hello carries. Any problem is a sentence for "Cannot reach the runtime: …".
import { loadTokenizer } from "../../runtime/text/index.ts";
import { hashBlock } from "../../runtime/wire/block-hash.ts";
import type { Frame } from "../../runtime/wire/frames.ts";
import { type ErrorMessage, type HelloMessage, PROTOCOL_VERSION } from "../../runtime/wire/messages.ts";
import { parseServerMessage } from "../../runtime/wire/schemas.ts";
import type { ModelInfo } from "../../functions/sdk/binding.ts";

export interface Greeting {
  hello: HelloMessage;
  info: ModelInfo;
  /** A digest of the tokenizer files (a pool compares runtimes by it). */
  tokenizerDigest: string;
}

/** Why a first frame is not a usable hello. */
export class HelloError extends Error {
  override name = "HelloError";
}

/** Reads the runtime's first frame; rejects with a HelloError that says what was wrong. */
export async function readHello(first: Frame): Promise<Greeting> {
  const refusal = first.message as Partial<ErrorMessage>;
  if (refusal?.type === "error") throw new HelloError(`it refused the connection: ${refusal.message}`);
  const said = first.message as Partial<HelloMessage>;
  if (said?.type !== "hello" || said.protocol !== PROTOCOL_VERSION) {
    throw new HelloError(`it speaks protocol ${said?.protocol ?? "unknown"}, this gateway speaks ${PROTOCOL_VERSION}`);
  }
  let hello: HelloMessage;
  try {
    hello = parseServerMessage(said) as HelloMessage;
  } catch (err) {
    throw new HelloError(`its hello is malformed (${(err as Error).message})`);
  }
  try {
    const files = new Map(hello.tokenizer.files.map((f) => [
      f.name,
      new TextDecoder().decode(first.binary.subarray(f.byteOffset, f.byteOffset + f.byteLength)),
    ]));
    const tokenizer = await loadTokenizer("runtime", {
      read: async (path) => files.get(path.split("/").pop()!) ?? null,
    });
    const info: ModelInfo = {
      id: hello.model.id,
      aliases: hello.model.aliases ?? [],
      contextLength: hello.model.contextLength,
      vocabSize: hello.model.vocabSize,
      tokenizer,
      image: hello.image,
      hasVision: hello.model.hasVision,
      limits: hello.limits,
    };
    return { hello, info, tokenizerDigest: hashBlock(null, first.binary) };
  } catch (err) {
    throw new HelloError(`its tokenizer could not be loaded: ${(err as Error).message}`);
  }
}
