// Writing a file so that a crash at any moment leaves either the old file or the whole new one: a temporary file
// beside it, flushed to disk (fsync), renamed over the target, and the folder flushed so the rename lasts. A gateway
// killed mid-deploy then never leaves a half-written (or NUL-filled) version behind.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeDurable(path: string, text: string): void {
  // hidden, and never a name the registry reads
  const temp = join(dirname(path), `.${basename(path)}.tmp-${Math.random().toString(36).slice(2, 10)}`);
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dir = openSync(dirname(path), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
