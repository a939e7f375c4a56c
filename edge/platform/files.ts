/** Synchronous file operations of the gateway (the function registry, /proc reads), through Deno's API on Deno and
 * `node:fs` elsewhere, loaded without a static import so that the Deno gateway never loads Node's layer (why:
 * ./system.ts). Paths are POSIX-style (the gateway's hosts are Linux and macOS). */
import { joinPath } from "../../runtime/text/io.ts";
import { currentDir, denoNamespace, nodeBuiltin } from "./system.ts";

export interface FileOps {
  exists(path: string): boolean;
  /** mkdir -p */
  makeDir(path: string): void;
  readText(path: string): string;
  writeText(path: string, text: string): void;
  /** Entry names, unsorted. */
  listDir(path: string): string[];
}

interface DenoFiles {
  statSync(path: string): unknown;
  mkdirSync(path: string, o: { recursive: boolean }): void;
  readTextFileSync(path: string): string;
  writeTextFileSync(path: string, text: string): void;
  readDirSync(path: string): Iterable<{ name: string }>;
  errors: { NotFound: new (...a: never[]) => Error };
}

interface NodeFs {
  existsSync(path: string): boolean;
  mkdirSync(path: string, o: { recursive: boolean }): void;
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(path: string, text: string): void;
  readdirSync(path: string): string[];
}

function denoFiles(deno: DenoFiles): FileOps {
  return {
    exists: (path) => {
      try {
        deno.statSync(path);
        return true;
      } catch (err) {
        if (err instanceof deno.errors.NotFound) return false;
        throw err;
      }
    },
    makeDir: (path) => deno.mkdirSync(path, { recursive: true }),
    readText: (path) => deno.readTextFileSync(path),
    writeText: (path, text) => deno.writeTextFileSync(path, text),
    listDir: (path) => [...deno.readDirSync(path)].map((e) => e.name),
  };
}

function nodeFiles(fs: NodeFs): FileOps {
  return {
    exists: (path) => fs.existsSync(path),
    makeDir: (path) => fs.mkdirSync(path, { recursive: true }),
    readText: (path) => fs.readFileSync(path, "utf8"),
    writeText: (path, text) => fs.writeFileSync(path, text),
    listDir: (path) => fs.readdirSync(path),
  };
}

let chosen: FileOps | null = null;

/** This runtime's file operations (chosen on first use). */
export function files(): FileOps {
  if (!chosen) {
    const deno = denoNamespace<DenoFiles>();
    chosen = deno ? denoFiles(deno) : nodeFiles(nodeBuiltin<NodeFs>("node:fs"));
  }
  return chosen;
}

/** `path` made absolute against the working directory. */
export function absolutePath(path: string): string {
  return path.startsWith("/") ? path : joinPath(currentDir(), path);
}

/** A file: URL for an absolute POSIX path, each segment percent-encoded (so `#`, `?`, `%` and spaces survive).
 * Example: "/srv/my fns/a#1.mjs" → "file:///srv/my%20fns/a%231.mjs". */
export function fileUrl(absolute: string): string {
  if (!absolute.startsWith("/")) throw new TypeError(`fileUrl needs an absolute path, got ${JSON.stringify(absolute)}`);
  return "file://" + absolute.split("/").map(encodeURIComponent).join("/");
}
