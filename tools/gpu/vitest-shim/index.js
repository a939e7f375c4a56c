// What the GPU suites import from vitest, from Bun's test runner (`bun test`): the device call's 64 MiB carry
// holds Bun (38 MB) beside the 27 MB tree, with no room for vitest's dependencies (tools/gpu/device-check.sh).
export { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } from "bun:test";
