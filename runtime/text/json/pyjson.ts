/**
 * JSON exactly as Python's `json` module writes and reads it, because mistral-common serialises tools, tool-call
 * arguments and settings with `json.dumps(..., ensure_ascii=False)` and the model was trained on those bytes.
 *
 * - `pyDumps`: separators `", "` and `": "`, non-ASCII kept, Python's escapes (`\u001f` lowercase hex), floats in
 *   Python `repr` form (`1.0`, `1e-05`, `1e+16`, `NaN`, `Infinity`), optional `sort_keys`.
 * - `pyLoads`: accepts what `json.loads` accepts (also `NaN`, `Infinity`, `-Infinity`), keeps the int/float
 *   distinction (a float literal becomes a `PyFloat`), big ints as `bigint`, the source order of keys even when
 *   they look like array indices (JS objects reorder those), and, for duplicate keys, the last value at the first
 *   position (a Python dict).
 */

/** A number that was a float literal in the source (`1.0` must dump as `1.0`, not `1`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Objects parsed by `pyLoads` whose key order JS would change carry their source order here. */
export const KEY_ORDER: unique symbol = Symbol("pyjson.keyOrder");

export class PyJsonError extends SyntaxError {
  constructor(message: string, readonly position: number) {
    super(message);
    this.name = "PyJsonError";
  }
}

const INDEX_LIKE = /^(0|[1-9][0-9]*)$/;

// ---------------------------------------------------------------- dumps

export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e");
  const exp = parseInt(expStr, 10);
  const sign = mant.startsWith("-") ? "-" : "";
  const digits = mant.replace("-", "").replace(".", "");
  if (exp >= -4 && exp < 16) {
    if (exp >= digits.length - 1) return sign + digits + "0".repeat(exp - digits.length + 1) + ".0";
    if (exp >= 0) return sign + digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
    return sign + "0." + "0".repeat(-exp - 1) + digits;
  }
  const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
  const e = Math.abs(exp).toString().padStart(2, "0");
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
}

function dumpNumber(x: number): string {
  if (Number.isInteger(x)) return Math.abs(x) < 2 ** 53 ? String(x) : BigInt(x).toString();
  return pyFloatRepr(x);
}

export function pyDumpString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(from, i);
    from = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      default:
        out += "\\u" + c.toString(16).padStart(4, "0");
    }
  }
  return out + s.slice(from) + '"';
}

function keysOf(o: object): string[] {
  const order = (o as any)[KEY_ORDER] as string[] | undefined;
  return order ?? Object.keys(o);
}

/** `json.dumps(value, ensure_ascii=False[, sort_keys=True])`. `undefined` object members are skipped. */
export function pyDumps(value: unknown, opts: { sortKeys?: boolean } = {}): string {
  const seen = new Set<object>();
  const go = (v: unknown): string => {
    if (v === null || v === undefined) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "number") return dumpNumber(v);
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "string") return pyDumpString(v);
    if (v instanceof PyFloat) return pyFloatRepr(v.value);
    if (typeof v !== "object") throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
    if (seen.has(v)) throw new TypeError("Circular reference detected");
    seen.add(v);
    let out: string;
    if (Array.isArray(v)) out = "[" + v.map(go).join(", ") + "]";
    else {
      let keys = keysOf(v).filter((k) => (v as any)[k] !== undefined);
      if (opts.sortKeys) keys = [...keys].sort(comparePyStr);
      out = "{" + keys.map((k) => pyDumpString(k) + ": " + go((v as any)[k])).join(", ") + "}";
    }
    seen.delete(v);
    return out;
  };
  return go(value);
}

/** Python compares str by code point; JS sort compares UTF-16 units. */
function comparePyStr(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  for (let i = 0; i < Math.min(A.length, B.length); i++) {
    const d = A[i].codePointAt(0)! - B[i].codePointAt(0)!;
    if (d) return d;
  }
  return A.length - B.length;
}

// ---------------------------------------------------------------- loads

export function pyLoads(text: string): unknown {
  let i = 0;
  const err = (msg: string): never => {
    throw new PyJsonError(`${msg} at position ${i}`, i);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    if (text.startsWith("true", i)) return (i += 4), true;
    if (text.startsWith("false", i)) return (i += 5), false;
    if (text.startsWith("null", i)) return (i += 4), null;
    if (text.startsWith("NaN", i)) return (i += 3), new PyFloat(NaN);
    if (text.startsWith("Infinity", i)) return (i += 8), new PyFloat(Infinity);
    return err("Expecting value");
  };
  const object = () => {
    i++;
    const o: Record<string, unknown> = {};
    const order: string[] = [];
    let needOrder = false;
    ws();
    if (text[i] === "}") return i++, o;
    for (;;) {
      ws();
      if (text[i] !== '"') err("Expecting property name enclosed in double quotes");
      const k = string();
      ws();
      if (text[i] !== ":") err("Expecting ':' delimiter");
      i++;
      const v = value();
      if (!Object.prototype.hasOwnProperty.call(o, k)) {
        order.push(k);
        if (INDEX_LIKE.test(k)) needOrder = true;
      }
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        break;
      }
      err("Expecting ',' delimiter");
    }
    if (needOrder) Object.defineProperty(o, KEY_ORDER, { value: order, enumerable: false });
    return o;
  };
  const array = () => {
    i++;
    const a: unknown[] = [];
    ws();
    if (text[i] === "]") return i++, a;
    for (;;) {
      a.push(value());
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") {
        i++;
        return a;
      }
      err("Expecting ',' delimiter");
    }
  };
  const string = (): string => {
    i++;
    let out = "";
    let from = i;
    for (;;) {
      if (i >= text.length) err("Unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) err("Invalid control character");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(from, i);
      const e = text[i + 1];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === "u") {
        const h = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) err("Invalid \\uXXXX escape");
        out += String.fromCharCode(parseInt(h, 16));
        i += 6;
      } else err("Invalid \\escape");
      from = i;
    }
    out += text.slice(from, i);
    i++;
    return out;
  };
  const number = (): unknown => {
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) {
      if (text.startsWith("-Infinity", i)) return (i += 9), new PyFloat(-Infinity);
      return err("Expecting value");
    }
    i += m[0].length;
    if (m[1] || m[2]) return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) err("Extra data");
  return v;
}

/** `json.loads` that returns undefined instead of throwing (mistral-common's `_parse_json_content`). */
export function tryPyLoads(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: pyLoads(text) };
  } catch (e) {
    if (e instanceof PyJsonError) return { ok: false };
    throw e;
  }
}
