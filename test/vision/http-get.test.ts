// The minimal HTTP/1.1 client against a raw TCP server that answers whatever bytes each test scripts:
// body framings, truncation, oversize headers, garbage.
import { connect, createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet } from "../../edge/vision/http-get.ts";

let answer: (s: Socket) => void = () => {};
const server = createServer((s) => {
  s.once("data", () => answer(s)); // after the request arrives
  s.on("error", () => {});
});
let port = 0;
beforeAll(() =>
  new Promise<void>((r) => server.listen(0, "127.0.0.1", () => ((port = (server.address() as AddressInfo).port), r())))
);
afterAll(() => server.close());

function get(script: (s: Socket) => void, max = 1000) {
  answer = script;
  return new Promise<Socket>((r) => {
    const s = connect({ host: "127.0.0.1", port }, () => r(s));
  }).then((s) => httpGet(s, { path: "/x", hostHeader: "img.test" }, max));
}

describe("httpGet", () => {
  it("a body framed by connection close", async () => {
    const r = await get((s) => s.end("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nhello"));
    expect([r.status, new TextDecoder().decode(r.body), r.headers.get("content-type")]).toEqual([
      200,
      "hello",
      "image/png",
    ]);
  });

  it("chunked with extensions, split across writes; bytes past Content-Length are dropped", async () => {
    const r = await get((s) => {
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nab");
      setTimeout(() => s.end("c\r\n2\r\nde\r\n0\r\n\r\n"), 5);
    });
    expect(new TextDecoder().decode(r.body)).toBe("abcde");
    const extra = await get((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"));
    expect(new TextDecoder().decode(extra.body)).toBe("abc");
  });

  it("a redirect returns at the headers", async () => {
    const r = await get((s) => s.write("HTTP/1.1 302 Found\r\nLocation: /y\r\n\r\n")); // server never closes
    expect([r.status, r.headers.get("location")]).toEqual([302, "/y"]);
  });

  it("refuses truncation, garbage, huge headers, unknown encodings, and oversize bodies", async () => {
    await expect(get((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))).rejects.toThrow(
      /before the whole image arrived/,
    );
    await expect(get((s) => s.end("SSH-2.0-OpenSSH\r\n\r\n"))).rejects.toThrow(/did not answer with HTTP\/1.x/);
    await expect(get((s) => s.end("HTTP/1.1 200 OK\r\nX: " + "a".repeat(20_000)))).rejects.toThrow(
      /more than 16,384 bytes of headers/,
    );
    await expect(get((s) => s.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"))).rejects.toThrow(
      /transfer encoding gzip/,
    );
    await expect(get((s) => s.end("HTTP/1.1 200 OK\r\n\r\n" + "z".repeat(1001)))).rejects.toMatchObject({
      status: 413,
    });
    await expect(
      get((s) =>
        s.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + "z".repeat(1001) + "\r\n0\r\n\r\n")
      ),
    ).rejects.toMatchObject({ status: 413 });
    await expect(get((s) => s.end())).rejects.toThrow(/closed the connection before answering/);
  });
});
