// The gateway's own long-option parser (edge/cli/flags.ts) and the platform path helpers it sits with.
import { describe, expect, it } from "vitest";
import { FlagError, parseFlags } from "../../edge/cli/flags.ts";
import { absolutePath, files, fileUrl } from "../../edge/platform/files.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const spec = {
  runtime: { type: "string" },
  "api-key": { type: "string", multiple: true },
  verbose: { type: "boolean" },
} as const;

describe("parseFlags", () => {
  it("reads --name value, --name=value, repeats of a multiple option and booleans", () => {
    expect(parseFlags(["--runtime", "/tmp/g.sock", "--api-key=a", "--api-key", "b", "--verbose"], spec)).toEqual({
      runtime: "/tmp/g.sock",
      "api-key": ["a", "b"],
      verbose: true,
    });
    expect(parseFlags(["--runtime=x=y"], spec)).toEqual({ runtime: "x=y" });
    expect(parseFlags(["--runtime", "a", "--runtime", "b"], spec)).toEqual({ runtime: "b" });
    expect(parseFlags([], spec)).toEqual({});
  });

  it("refuses unknown options naming the allowed ones, a missing value, a value on a boolean and positionals", () => {
    expect(() => parseFlags(["--bogus"], spec)).toThrow(
      "Unknown option '--bogus'; allowed: --runtime, --api-key, --verbose",
    );
    expect(() => parseFlags(["--runtime"], spec)).toThrow("Option '--runtime <value>' argument missing");
    expect(() => parseFlags(["--runtime", "--verbose"], spec)).toThrow("Option '--runtime <value>' argument missing");
    expect(() => parseFlags(["--verbose=yes"], spec)).toThrow("Option '--verbose' does not take a value");
    expect(() => parseFlags(["serve"], spec)).toThrow(FlagError);
    expect(() => parseFlags(["--constructor"], spec)).toThrow(/Unknown option '--constructor'/);
  });
});

describe("platform paths and files", () => {
  it("fileUrl encodes each segment as Node's pathToFileURL does for these characters", () => {
    for (const p of ["/srv/my fns/a#1.mjs", "/tmp/100%/v1.mjs", "/a/b?c/d.mjs", "/plain/v2.mjs"]) {
      expect(fileUrl(p)).toBe(pathToFileURL(p).href);
    }
    expect(() => fileUrl("relative/v1.mjs")).toThrow(/absolute path/);
  });

  it("absolutePath resolves against the working directory", () => {
    expect(absolutePath("/x/y")).toBe("/x/y");
    expect(absolutePath("state")).toBe(join(process.cwd(), "state"));
  });

  it("files() creates, writes, lists and reads, and says a missing file does not exist", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gust-files-")), "a", "b");
    const fs = files();
    expect(fs.exists(dir)).toBe(false);
    fs.makeDir(dir);
    fs.makeDir(dir); // twice is fine (mkdir -p)
    fs.writeText(join(dir, "active"), "3");
    expect(fs.listDir(dir)).toEqual(["active"]);
    expect(fs.readText(join(dir, "active"))).toBe("3");
    expect(fs.exists(join(dir, "active"))).toBe(true);
  });
});
