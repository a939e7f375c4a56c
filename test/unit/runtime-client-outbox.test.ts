// The runtime client writes the frames of one event-loop turn as one write (edge/runtime-client/client.ts), so
// requests sent together reach the runtime in one read. Against a socket server that speaks just enough of the
// protocol: a hello with the fixture's tokenizer, then a record of the frames it receives.
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeClient } from "../../edge/runtime-client/client.ts";
import { encodeFrame, FrameDecoder } from "../../runtime/wire/frames.ts";
import { type ClientMessage, type HelloMessage, PROTOCOL_VERSION } from "../../runtime/wire/messages.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { tempSocket } from "../helpers/processes.ts";

const socketPath = tempSocket("outbox");
const received: ClientMessage[] = []; // every frame the server read, in order
let server: Server;

beforeAll(async () => {
  const tekken = readFileSync(join(fixtureDir("tiny-mistral3"), "tekken.json"));
  const hello: HelloMessage = {
    type: "hello",
    protocol: PROTOCOL_VERSION,
    draining: false,
    image: null,
    model: { id: "outbox-test", contextLength: 256, vocabSize: 512, bosId: 1, eosId: 2, hasVision: false },
    limits: { maxNumSeqs: 8, maxBatchedTokens: 256, numBlocks: 16, blockSize: 16, maxImagesPerRequest: 0 },
    tokenizer: { files: [{ name: "tekken.json", byteOffset: 0, byteLength: tekken.byteLength }] },
  };
  server = createServer((conn: Socket) => {
    const decoder = new FrameDecoder();
    conn.on("data", (chunk: Uint8Array) => {
      for (const f of decoder.push(chunk)) received.push(f.message as ClientMessage);
    });
    conn.write(encodeFrame(hello, tekken));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe("runtime client outbox", () => {
  it("writes the frames of one turn as one write, in call order, and a later turn's as another", async () => {
    const client = await RuntimeClient.connect(socketPath);
    const writes: number[] = [];
    // count the client's writes to its byte stream (a write may still be read as several chunks; counting writes is exact)
    const stream = (client as unknown as { stream: { write(b: Uint8Array): void } }).stream;
    const write = stream.write.bind(stream);
    stream.write = (bytes) => {
      writes.push(bytes.byteLength);
      write(bytes);
    };
    try {
      const aborter = new AbortController();
      for (const n of [3, 4]) client.generate({ promptIds: [1, n], maxTokens: 1 });
      client.generate({ promptIds: [1, 5], maxTokens: 1, signal: aborter.signal });
      aborter.abort(); // an abort in the same turn follows its generate in the same write
      expect(writes).toEqual([]); // nothing written before the turn ends
      await until(() => received.length >= 4);
      expect(writes).toHaveLength(1);
      expect(received.map((m) => `${m.type} ${m.id}`)).toEqual(["generate 1", "generate 2", "generate 3", "abort 3"]);

      client.generate({ promptIds: [1, 6], maxTokens: 1 });
      await until(() => received.length >= 5);
      expect(writes).toHaveLength(2);
      expect(received[4]).toMatchObject({ type: "generate", id: "4", promptIds: [1, 6] });
    } finally {
      client.close();
    }
  });

  it("drops what a closed client had not written yet", async () => {
    const client = await RuntimeClient.connect(socketPath);
    const before = received.length;
    client.generate({ promptIds: [1, 7], maxTokens: 1 });
    client.close(); // the same turn: the request was failed with the close, so it is never sent
    await new Promise((r) => setTimeout(r, 100));
    expect(received.length).toBe(before);
  });
});
