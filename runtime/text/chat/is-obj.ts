/** A plain JSON object (not null, not an array): the shape every request field that holds fields must have. */
export const isObj = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
