// The shared secret between gateways and runtimes beyond loopback. It is read from a file (a flag would show in
// `ps`); surrounding whitespace (a trailing newline) is not part of it. A runtime that has one waits for the
// gateway's `auth` frame before its hello and compares in constant time (digests of equal length, so neither the
// content nor the length of a wrong guess shows in the timing).
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

/** At least this many characters: a guessable secret on a network is no secret. */
export const MIN_TOKEN_LENGTH = 16;

export class TokenFileError extends Error {
  override name = "UsageError";
}

export function readTokenFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let token: string;
  try {
    token = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new TokenFileError(`--auth-token-file ${path} cannot be read: ${(err as Error).message}`);
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new TokenFileError(
      `--auth-token-file ${path} holds ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} ` +
        "(for example `openssl rand -hex 32 > FILE`)",
    );
  }
  return token;
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

export function tokensMatch(expected: string, given: unknown): boolean {
  return typeof given === "string" && timingSafeEqual(digest(expected), digest(given));
}
