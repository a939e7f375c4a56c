// A gateway SIGKILLed at random points of a deploy, again and again (a bounded loop, seeded), never leaves a version
// that blocks its next start or a rollback: every restart serves the function, every version file on disk is whole,
// and rollback answers 200 or 409 (nothing older), never a load failure. On both gateways.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../runtime/sampling/rng.ts";
import { ADMIN_KEY, type FunctionGateway, startFunctionGateway } from "../helpers/function-gateway.ts";
import { freePort } from "../helpers/processes.ts";

const KILLS = 6;
const END = "// end of bundle";
// about 1 MiB, so a write is long enough for a kill to land inside it now and then
const bundle = (n: number) =>
  `export default { fetch: () => new Response("v${n}") };\n/*${"x".repeat(1 << 20)}*/\n${END}\n`;

describe.each(["bun", "deno"] as const)("deploys killed mid-way on %s", (kind) => {
  it("never leave a version that blocks start or rollback", async () => {
    const rng = new Rng(kind === "bun" ? 34 : 43);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const admin = { "x-admin-key": ADMIN_KEY, "content-type": "application/javascript" };
    let stateDir: string | undefined;
    let deployed = 0;
    let g: FunctionGateway | undefined;
    try {
      for (let i = 0; i <= KILLS; i++) {
        g = await startFunctionGateway(kind, port, [], undefined, stateDir);
        stateDir = g.stateDir;
        if (deployed > 0) {
          const res = await fetch(`${base}/fn/k/`);
          expect(res.status, `restart ${i}: ${g.gateway.output()}`).toBe(200);
          const back = await fetch(`${base}/admin/functions/k/rollback`, { method: "POST", headers: admin });
          expect([200, 409], await back.clone().text()).toContain(back.status);
        }
        const dir = join(stateDir, "k");
        for (const file of existsSync(dir) ? readdirSync(dir) : []) {
          if (/^v\d+\.mjs$/.test(file)) {
            expect(readFileSync(join(dir, file), "utf8").endsWith(`${END}\n`), file).toBe(true);
          }
        }
        if (i === KILLS) {
          await g.stop();
          break;
        }
        // one deploy that completes, then one cut by a kill at a random moment
        const done = await fetch(`${base}/admin/functions/k`, { method: "POST", headers: admin, body: bundle(2 * i) });
        expect(done.status).toBe(200);
        deployed++;
        const cut = fetch(`${base}/admin/functions/k`, { method: "POST", headers: admin, body: bundle(2 * i + 1) })
          .catch(() => null);
        await new Promise((r) => setTimeout(r, Math.floor(rng.nextFloat() * 40)));
        await g.gateway.stop("SIGKILL");
        await cut;
      }
    } finally {
      await g?.stop();
    }
  }, 180_000);
});
