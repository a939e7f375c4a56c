// The gateway's flags (edge/cli/serve-args.ts), shared by `gust serve` on Bun and edge/main-deno.ts.
import { describe, expect, it } from "vitest";
import { parseServeArgs } from "../../edge/cli/serve-args.ts";
import { serveCommand } from "../../edge/cli/serve-command.ts";

describe("parseServeArgs --gc-threads", () => {
  it("defaults to normal and takes idle", () => {
    expect(parseServeArgs(["--runtime", "/tmp/s.sock"]).gcThreads).toBe("normal");
    expect(parseServeArgs(["--runtime", "/tmp/s.sock", "--gc-threads", "idle"]).gcThreads).toBe("idle");
  });

  it("names the allowed values for anything else", () => {
    expect(() => parseServeArgs(["--runtime", "/tmp/s.sock", "--gc-threads", "low"])).toThrow(
      '--gc-threads must be one of normal, idle, got "low"',
    );
  });
});

describe("gust serve (Bun)", () => {
  it("refuses --gc-threads idle, which is for the Deno gateway, before starting anything", async () => {
    await expect(serveCommand(["--runtime", "/nonexistent/gust.sock", "--gc-threads", "idle"])).rejects.toThrow(
      /--gc-threads idle is for the Deno gateway/,
    );
  });
});

describe("parseServeArgs: served names and image URLs", () => {
  const base = ["--runtime", "/tmp/s.sock"];
  it("collects repeated --served-model-name", () => {
    const a = parseServeArgs([...base, "--served-model-name", "mistral-medium-3.5", "--served-model-name=m/M-128B"]);
    expect(a.servedModelNames).toEqual(["mistral-medium-3.5", "m/M-128B"]);
    expect(() => parseServeArgs([...base, "--served-model-name", " x"])).toThrow(/--served-model-name must be/);
  });

  it("image URLs: public by default, off and allowlist, with HOST[:PORT] entries checked", () => {
    expect(parseServeArgs(base).imageUrls).toEqual({ mode: "public", allow: [] });
    const a = parseServeArgs([...base, "--image-urls", "allowlist", "--image-url-allow", "img.internal:8080"]);
    expect(a.imageUrls).toEqual({ mode: "allowlist", allow: ["img.internal:8080"] });
    expect(parseServeArgs([...base, "--image-url-allow", "[::1]:9000"]).imageUrls.allow).toEqual(["[::1]:9000"]);
    expect(() => parseServeArgs([...base, "--image-urls", "all"])).toThrow(
      '--image-urls must be one of off, public, allowlist, got "all"',
    );
    expect(() => parseServeArgs([...base, "--image-url-allow", "http://x/"])).toThrow(/takes HOST or HOST:PORT/);
    expect(() => parseServeArgs([...base, "--image-url-allow", "x:70000"])).toThrow(/takes HOST or HOST:PORT/);
    expect(() => parseServeArgs([...base, "--image-urls", "off", "--image-url-allow", "x"])).toThrow(/drop one/);
  });
});
