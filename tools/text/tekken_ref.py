"""Independent reference for gust's Tekken encoder and chat vectors (no mistral-common, no tiktoken needed).

Implements mistral-common's Tekkenizer.encode rules in plain Python: the pre-tokenizer regex from tekken.json
(run with the `regex` module; `\\s` is spelled out as Unicode White_Space, as Rust's regex engine reads it),
tiktoken's byte-pair merge (lowest-rank adjacent pair first, leftmost on ties), id = rank + num_special.

Usage: python3 tools/text/tekken_ref.py test/fixtures/tiny-mistral3/tekken.json test/text/vectors
Reads  VECTORS/chat-v15.cases.json (name, expected_text) and writes
       VECTORS/tekken-encode.json  (text -> ids for a fixed list of strings) and
       VECTORS/chat-v15.ids.json   (name -> ids of expected_text, split at control-token names).
"""
import base64, json, sys
import regex

WS = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def translate(p):
    out, i, in_class = [], 0, False
    while i < len(p):
        c = p[i]
        if c == "\\":
            n = p[i + 1]
            if n == "s":
                out.append(WS if in_class else "[" + WS + "]")
            elif n == "S":
                out.append("[^" + WS + "]")
            else:
                out.append(c + n)
            i += 2
            continue
        if in_class and c == "]":
            in_class = False
        elif not in_class and c == "[":
            in_class = True
        out.append(c)
        i += 1
    return "".join(out)


class Tekken:
    def __init__(self, path):
        d = json.load(open(path, encoding="utf-8"))
        cfg = d["config"]
        self.ns = cfg["default_num_special_tokens"]
        inner = cfg["default_vocab_size"] - self.ns
        self.ranks = {base64.b64decode(v["token_bytes"]): v["rank"] for v in d["vocab"][:inner]}
        self.names = [s["token_str"] for s in d["special_tokens"]]
        self.names += [f"<SPECIAL_{i}>" for i in range(len(self.names), self.ns)]
        self.re = regex.compile(translate(cfg["pattern"]))

    def bpe(self, piece):
        parts = [bytes([b]) for b in piece]
        while True:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if at < 0:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        return [self.ranks[p] for p in parts]

    def encode(self, text):
        ids = []
        for m in self.re.finditer(text):
            ids += [r + self.ns for r in self.bpe(m.group(0).encode("utf-8"))]
        return ids

    def encode_with_controls(self, text):
        """Split `text` at control-token names (longest first) and encode the pieces between them."""
        alt = "|".join(regex.escape(n) for n in sorted(self.names, key=len, reverse=True))
        ids, pos = [], 0
        for m in regex.finditer(alt, text):
            ids += self.encode(text[pos:m.start()]) + [self.names.index(m.group(0))]
            pos = m.end()
        return ids + self.encode(text[pos:])


TEXTS = [
    "", "Hello, world!", "The quick brown fox jumps over the lazy dog.", "Mistral Medium 3.5 is a dense model.",
    "  leading and trailing spaces   ", "tabs\tand\nnewlines\r\n\r\nand more\n\n\n", "numbers 1234567890 3.14159 -42",
    "héllo wörld — naïve café", "日本語のテキストです。", "emoji 😀🎉👍🏽 family 👨‍👩‍👧", "[INST] not a control [/INST] <s></s>",
    "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}", "ALLCAPS and CamelCase and snake_case",
    "a" * 300, " " * 200 + "x", "x\u0085y\ufeffz\u00a0w", "mixed\u2028line\u2029sep", "ÀÉÎÕÜ àéîõü ǅ ǈ",
    "def f(x):\n    return x ** 2  # square\n", "http://example.com/path?q=1&r=2", "Ω≈ç√∫˜µ≤≥÷",
]


def main():
    tk = Tekken(sys.argv[1])
    out_dir = sys.argv[2]
    rows = [json.dumps({"text": t, "ids": tk.encode(t)}, ensure_ascii=False) for t in TEXTS]
    open(f"{out_dir}/tekken-encode.json", "w", encoding="utf-8").write("[\n" + ",\n".join(rows) + "\n]\n")
    cases = json.load(open(f"{out_dir}/chat-v15.cases.json", encoding="utf-8"))
    ids = {c["name"]: tk.encode_with_controls(c["expected_text"]) for c in cases}
    rows = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in ids.items()]
    open(f"{out_dir}/chat-v15.ids.json", "w", encoding="utf-8").write("{\n" + ",\n".join(rows) + "\n}\n")
    print("wrote", len(TEXTS), "encode vectors and", len(ids), "chat id vectors")


if __name__ == "__main__":
    main()
