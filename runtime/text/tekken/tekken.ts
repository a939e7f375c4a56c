/** Tekken: tiktoken-style byte-level BPE from tekken.json, behind the `Tokenizer` interface. */
import { TokenizerError } from "../tokenizer.ts";
import type { ControlPolicy, ImageConfig, ModelSettingsSpec, Tokenizer } from "../tokenizer.ts";
import { bytesToKey, concatBytes, isAscii, utf8Decode, utf8Encode } from "../utf8.ts";
import { bytePairEncode } from "./bpe.ts";
import { parseTekken } from "./load.ts";
import type { TekkenData } from "./load.ts";
import { compilePattern } from "./pattern.ts";
import type { RankTable } from "./rank-table.ts";

// Pieces already encoded, emptied when it reaches this size. It lives as long as the gateway, so every entry (a
// string and often an array) is work for each full collection: filled to 200,000 entries it was a 44 MB live heap
// and a 30 ms full collection in Deno (a 131k vocabulary, 150k distinct words); at 16,384 it stays near 2 MB. On
// text whose pieces repeat the hit rate hardly changes (29.7 MB/s encoded vs 31.0 with the large cache); on text
// of 150k distinct words encoding slows from 9.4 to 3.0 MB/s, which a 256k-token prompt still crosses in ~0.3 s.
const CACHE_LIMIT = 16_384;
const EMPTY = new Uint8Array(0);

export class Tekkenizer implements Tokenizer {
  readonly kind = "tekken" as const;
  readonly version: string;
  readonly vocabSize: number;
  readonly numSpecial: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly image: ImageConfig | null;
  readonly modelSettings: ModelSettingsSpec | null;
  private readonly ranks: RankTable;
  private readonly names: string[];
  private readonly byName = new Map<string, number>();
  private readonly re: RegExp;
  private cache = new Map<string, number | number[]>();

  constructor(data: TekkenData) {
    this.version = data.version;
    this.vocabSize = data.vocabSize;
    this.numSpecial = data.numSpecial;
    this.ranks = data.ranks;
    this.names = data.specialNames;
    this.image = data.image;
    this.modelSettings = data.modelSettings;
    this.names.forEach((n, i) => this.byName.set(n, i));
    this.re = compilePattern(data.pattern);
    this.bosId = this.controlId("<s>");
    this.eosId = this.controlId("</s>");
  }

  /** From the parsed JSON of a tekken.json file. */
  static fromJSON(doc: unknown): Tekkenizer {
    return new Tekkenizer(parseTekken(doc));
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const re = this.re;
    re.lastIndex = 0;
    const ns = this.numSpecial;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const piece = m[0];
      if (piece.length === 0) {
        re.lastIndex++;
        continue;
      }
      const hit = this.cache.get(piece);
      if (hit !== undefined) {
        if (typeof hit === "number") out.push(hit);
        else for (let i = 0; i < hit.length; i++) out.push(hit[i]);
        continue;
      }
      const key = isAscii(piece) ? piece : bytesToKey(utf8Encode(piece));
      const r = this.ranks.rankOf(key);
      let value: number | number[];
      if (r >= 0) {
        value = r + ns;
        out.push(value);
      } else {
        const ids: number[] = [];
        bytePairEncode(key, this.ranks, ids);
        for (let i = 0; i < ids.length; i++) ids[i] += ns;
        for (let i = 0; i < ids.length; i++) out.push(ids[i]);
        value = ids;
      }
      if (piece.length <= 64) {
        if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
        this.cache.set(piece, value);
      }
    }
    return out;
  }

  decode(ids: ArrayLike<number>, policy: ControlPolicy = "drop"): string {
    let out = "";
    let run: Uint8Array[] = [];
    let runLen = 0;
    const flush = () => {
      if (run.length) out += utf8Decode(concatBytes(run, runLen));
      run = [];
      runLen = 0;
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.check(id);
      if (id < this.numSpecial) {
        flush();
        if (policy === "show") out += this.names[id];
      } else {
        const b = this.ranks.bytes(id - this.numSpecial);
        run.push(b);
        runLen += b.length;
      }
    }
    flush();
    return out;
  }

  tokenBytes(id: number): Uint8Array {
    this.check(id);
    return id < this.numSpecial ? EMPTY : this.ranks.bytes(id - this.numSpecial);
  }

  isControl(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.numSpecial;
  }

  controlId(name: string): number {
    const id = this.byName.get(name);
    if (id === undefined) throw new TokenizerError(`control token ${name} is not in this tokenizer's special_tokens`);
    return id;
  }

  findControl(name: string): number | undefined {
    return this.byName.get(name);
  }

  controlName(id: number): string | undefined {
    return this.isControl(id) ? this.names[id] : undefined;
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id} is out of range: ids are integers 0..${this.vocabSize - 1}`);
    }
  }
}
