// Schemas that cost a grammar compiler its whole budget: shared by the bounds and the off-the-loop tests.

/** Each level refers twice to the next: 2^depth copies once expanded. */
export function exponentialRef(depth: number, salt: string): unknown {
  const defs: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) {
    const next = { $ref: `#/$defs/a${i + 1}` };
    defs[`a${i}`] = { type: "object", properties: { [`x${salt}`]: next, y: next }, required: [`x${salt}`, "y"] };
  }
  defs[`a${depth}`] = { type: "string" };
  return { $defs: defs, $ref: "#/$defs/a0" };
}
export const bigEnum = (salt: string) => ({ enum: Array.from({ length: 50_000 }, (_, i) => `${salt}-value-${i}`) });
/** Nested 100k deep, as JSON text (building it as an object and stringifying it would itself overflow). */
export const deepSchemaText = (salt: string) =>
  `{"description":"${salt}","type":"array","items":` + '{"type":"array","items":'.repeat(99_999) +
  '{"type":"string"}' + "}".repeat(100_000);
