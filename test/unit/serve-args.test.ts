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
