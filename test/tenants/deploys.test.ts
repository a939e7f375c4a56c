// Deploys that must fail cleanly and state that must never block a start or a rollback: an import that does not
// settle, default exports of the wrong shape, declared limits that are not positive integers, and version files
// left broken on disk (as a gateway killed mid-write by an older gust left them: NUL-filled).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeployError, FunctionRegistry } from "../../edge/functions/registry.ts";

const ok = (text: string) => `export default { fetch: () => new Response(${JSON.stringify(text)}) };`;
const newRegistry = (log: string[] = []) =>
  new FunctionRegistry(mkdtempSync(join(tmpdir(), "gust-deploys-")), (l) => log.push(l), { importTimeoutMs: 200 });

async function failure(p: Promise<unknown>): Promise<DeployError> {
  const e = await p.then(() => null, (err) => err);
  expect(e).toBeInstanceOf(DeployError);
  return e as DeployError;
}

describe("deploys", () => {
  it("an import that never settles fails with a 400 naming the timeout; the active version keeps serving", async () => {
    const r = newRegistry();
    await r.deploy("f", ok("one"));
    const e = await failure(r.deploy("f", `await new Promise(() => {}); ${ok("never")}`));
    expect(e.status).toBe(400);
    expect(e.message).toContain("did not finish within 200 ms");
    expect(await (await r.get("f")!.definition.app.fetch(new Request("http://x/"))).text()).toBe("one");
    // the failed bundle is kept aside under its own number, and the next deploy takes a new one
    expect(readdirSync(join(r.stateDir, "f")).sort()).toContain("v2.failed.mjs");
    expect((await r.deploy("f", ok("three"))).version).toBe(3);
  });

  it("checks the default export's shape and the declared limits without running the function", async () => {
    const r = newRegistry();
    const cases: Array<[string, string]> = [
      [`export default 42;`, "default export must be a Hono app or defineFunction"],
      [`export default { kind: "gust-function", app: {} };`, "needs an app with a fetch method"],
      [
        `export default { kind: "gust-function", app: { fetch() {} }, limits: { timeoutMs: -5 } };`,
        "limits.timeoutMs must be a positive integer, got -5",
      ],
      [
        `export default { kind: "gust-function", app: { fetch() {} }, limits: { maxConcurrency: "many" } };`,
        'limits.maxConcurrency must be a positive integer, got "many"',
      ],
    ];
    for (const [code, message] of cases) {
      const e = await failure(r.deploy("shape", code));
      expect(e.status).toBe(400);
      expect(e.message).toContain(message);
    }
    expect(r.get("shape")).toBeUndefined();
  });

  it("writes whole files through a temporary file and a rename (no temporary left behind)", async () => {
    const r = newRegistry();
    const bundle = ok("whole");
    await r.deploy("w", bundle);
    expect(readFileSync(join(r.stateDir, "w", "v1.mjs"), "utf8")).toBe(bundle);
    expect(readFileSync(join(r.stateDir, "w", "active"), "utf8")).toBe("1");
    expect(readdirSync(join(r.stateDir, "w")).sort()).toEqual(["active", "v1.mjs"]);
  });

  it("a version broken on disk is skipped, and logged, at start and by rollback", async () => {
    // a state folder as a gateway killed mid-write by an older gust left it (each registry a fresh folder: the
    // module cache keeps a file URL's first import)
    const stateWith = (files: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), "gust-broken-"));
      mkdirSync(join(dir, "b"));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "b", name), text);
      return dir;
    };
    const nul = "\0".repeat(512);
    const log: string[] = [];
    const restarted = new FunctionRegistry(
      stateWith({ "v1.mjs": ok("one"), "v2.mjs": nul, "v3.mjs": nul, active: "3" }),
      (l) => log.push(l),
    );
    await restarted.restore();
    expect(restarted.get("b")?.version).toBe(1);
    expect(log.filter((l) => /skipping function b v[23]:/.test(l)).length).toBe(2);

    const r = new FunctionRegistry(
      stateWith({ "v1.mjs": ok("one"), "v2.mjs": nul, "v3.mjs": ok("three"), active: "3" }),
      (l) => log.push(l),
    );
    await r.restore();
    expect(r.get("b")?.version).toBe(3);
    expect((await r.rollback("b")).version).toBe(1);
    expect((await failure(r.rollback("b"))).status).toBe(409);
  });
});
