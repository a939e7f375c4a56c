"""Convert a tekken.json into a Hugging Face tokenizer.json (byte-level BPE; merges derived from the ranks the way
transformers' TikTokenConverter does it; control tokens as special added tokens at their ids).
Used to make test/text/vectors/tiny-tokenizer.json from the fixture vocabulary, so the tokenizer.json path can be
checked against the Tekken path on the same vocabulary.
Usage: python3 tools/text/tekken_to_hf.py test/fixtures/tiny-mistral3/tekken.json test/text/vectors/tiny-tokenizer.json"""
import base64, json, sys


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main():
    src, out = sys.argv[1], sys.argv[2]
    d = json.load(open(src, encoding="utf-8"))
    cfg = d["config"]
    ns = cfg["default_num_special_tokens"]
    inner = cfg["default_vocab_size"] - ns
    b2u = bytes_to_unicode()
    enc = lambda b: "".join(b2u[x] for x in b)
    ranks = {base64.b64decode(v["token_bytes"]): v["rank"] for v in d["vocab"][:inner]}
    names = [s["token_str"] for s in d["special_tokens"]] + [f"<SPECIAL_{i}>" for i in range(len(d["special_tokens"]), ns)]
    vocab = {n: i for i, n in enumerate(names)}
    for b, r in ranks.items():
        vocab[enc(b)] = r + ns
    merges = []
    for b, r in ranks.items():
        if len(b) == 1:
            continue
        for i in range(1, len(b)):
            left, right = b[:i], b[i:]
            if left in ranks and right in ranks:
                merges.append((r, ranks[left], ranks[right], enc(left), enc(right)))
    merges.sort()
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": n, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                         for i, n in enumerate(names)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": cfg["pattern"]}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": True, "vocab": vocab,
                  "merges": [[m[3], m[4]] for m in merges]},
    }
    json.dump(doc, open(out, "w", encoding="utf-8"), ensure_ascii=False)
    print(out, "vocab", len(vocab), "merges", len(merges))


if __name__ == "__main__":
    main()
