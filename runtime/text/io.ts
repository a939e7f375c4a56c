/** Reading a text file on Bun, Deno or Node without importing any one runtime's API statically. */

export type ReadText = (path: string) => Promise<string | null>;

function notFound(e: unknown): boolean {
  const x = e as { code?: string; name?: string };
  return x?.code === "ENOENT" || x?.name === "NotFound";
}

/** The file's text, or null when it does not exist. */
export const readTextFile: ReadText = async (path) => {
  const g = globalThis as any;
  try {
    if (g.Deno?.readTextFile) return await g.Deno.readTextFile(path);
    if (g.Bun?.file) {
      const f = g.Bun.file(path);
      if (!(await f.exists())) return null;
      return await f.text();
    }
    const fs = await import("node:fs/promises");
    return await fs.readFile(path, "utf8");
  } catch (e) {
    if (notFound(e)) return null;
    throw e;
  }
};

export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}
