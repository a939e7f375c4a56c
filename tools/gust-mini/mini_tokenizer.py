"""gust-mini's tokenizer: byte-level BPE in Mistral's tekken.json format, control tokens at ids 0-63.

The vocabulary is learned with the Hugging Face `tokenizers` trainer (fast; on the GPU machine), then stored as
tekken ranks: the 256 bytes first in byte order, then the learned tokens in merge order (id = 64 + rank). gust
loads tekken.json before tokenizer.json, so the file that states the v15 settings (version, reasoning_effort
none|high default none, image patch 14 / max 224 / merge 2) is the one gust encodes with. tokenizer.json is
derived from tekken.json by tools/text/tekken_to_hf.py (merges from the ranks, ignore_merges), so both give the
same ids, and the training data is encoded with tekken's own rule (tiktoken when available).

Encoder backends: "tiktoken" (what mistral-common runs), "hf" (the tokenizers library on the derived
tokenizer.json), "ref" (tools/text/tekken_ref.py, pure Python + `regex`; slow, used for checks and here)."""
import base64, json, os, subprocess, sys
from mini_template import NUM_SPECIAL, SPECIALS, VOCAB, EFFORTS, DEFAULT_EFFORT, MAX_IMAGE

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT_TOOLS = os.path.join(HERE, "..", "text")
PATTERN = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
IMAGE = {"image_patch_size": 14, "max_image_size": MAX_IMAGE, "spatial_merge_size": 2}

def bytes_to_unicode():
    """GPT-2's byte-level alphabet (the one tokenizers' ByteLevel uses): byte -> printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]; n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))
U2B = {u: b for b, u in bytes_to_unicode().items()}

def ranks_from_learned(tokens_by_id):
    """tokens_by_id: learned byte-level token strings in id (= merge) order, control tokens excluded.
    Returns the tekken ranks: bytes 0..255, then every multi-byte token in that order."""
    ranks = [bytes([i]) for i in range(256)]; seen = set(ranks)
    for s in tokens_by_id:
        b = bytes(U2B[c] for c in s)
        if len(b) == 1: continue
        assert b not in seen, f"token {s!r} learned twice"
        seen.add(b); ranks.append(b)
    return ranks

def learn_ranks(texts, vocab_size=VOCAB):
    """BPE vocabulary learned by the tokenizers library (needs `tokenizers`)."""
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    vocab = tok.get_vocab()
    for i, s in enumerate(SPECIALS): assert vocab.get(s) == i, (s, vocab.get(s))
    return ranks_from_learned([s for s, i in sorted(vocab.items(), key=lambda kv: kv[1]) if i >= NUM_SPECIAL])

def learn_ranks_py(texts, vocab_size):
    """A slow pure-Python stand-in for learn_ranks (local pipeline checks only; not the shipped tokenizer)."""
    import collections, regex
    words = collections.Counter(m.group(0).encode("utf-8") for t in texts for m in regex.finditer(PATTERN, t))
    seqs = {w: [bytes([b]) for b in w] for w in words}; learned = []
    while NUM_SPECIAL + 256 + len(learned) < vocab_size:
        pairs = collections.Counter()
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]): pairs[(a, b)] += words[w]
        if not pairs: break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        learned.append(a + b)
        for w, s in seqs.items():
            i, t = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b: t.append(a + b); i += 2
                else: t.append(s[i]); i += 1
            seqs[w] = t
    b2u = bytes_to_unicode()
    return ranks_from_learned(["".join(b2u[x] for x in b) for b in learned])

def tekken_doc(ranks):
    def tok_str(b):
        try: return b.decode("utf-8")
        except UnicodeDecodeError: return None
    return {
        "config": {"pattern": PATTERN, "num_vocab_tokens": len(ranks), "default_vocab_size": NUM_SPECIAL + len(ranks),
                   "default_num_special_tokens": NUM_SPECIAL, "version": "v15"},
        "vocab": [{"rank": i, "token_bytes": base64.b64encode(b).decode(), "token_str": tok_str(b)} for i, b in enumerate(ranks)],
        "special_tokens": [{"rank": i, "token_str": s, "is_control": True} for i, s in enumerate(SPECIALS)],
        "image": dict(IMAGE),
        "model_settings_builder": {"reasoning_effort": {"type": "enum", "accepts_none": True, "default": DEFAULT_EFFORT, "values": list(EFFORTS)}},
    }

def write_tokenizers(out, ranks):
    """OUT/tekken.json, and OUT/tokenizer.json derived from it."""
    json.dump(tekken_doc(ranks), open(f"{out}/tekken.json", "w", encoding="utf-8"), indent=1, ensure_ascii=False)
    hf_from_tekken(f"{out}/tekken.json", f"{out}/tokenizer.json")

def hf_from_tekken(tekken_path, out_path):
    subprocess.run([sys.executable, os.path.join(TEXT_TOOLS, "tekken_to_hf.py"), tekken_path, out_path], check=True, stdout=subprocess.DEVNULL)

def read_ranks(tekken_path):
    d = json.load(open(tekken_path, encoding="utf-8")); c = d["config"]
    assert c["default_num_special_tokens"] == NUM_SPECIAL and c["pattern"] == PATTERN
    return [base64.b64decode(v["token_bytes"]) for v in d["vocab"][: c["default_vocab_size"] - NUM_SPECIAL]]

class Encoder:
    """Plain-text encoding (never control ids) and decoding (control tokens by name) for a folder with tekken.json."""
    def __init__(self, folder, backend=None):
        self.folder = folder; self.tekken = f"{folder}/tekken.json"; self.ranks = read_ranks(self.tekken)
        order = [backend] if backend else ["tiktoken", "hf", "ref"]
        for b in order:
            try:
                self._encode = getattr(self, f"_make_{b}")(); self.backend = b; break
            except ImportError:
                if backend: raise
        else: raise ImportError("no tokenizer backend")

    def _make_tiktoken(self):
        import tiktoken
        e = tiktoken.Encoding("gust-mini", pat_str=PATTERN, mergeable_ranks={b: i for i, b in enumerate(self.ranks)}, special_tokens={})
        return lambda s: [i + NUM_SPECIAL for i in e.encode_ordinary(s)]

    def _make_hf(self):
        from tokenizers import Tokenizer
        path = f"{self.folder}/tokenizer.json"
        if not os.path.exists(path): hf_from_tekken(self.tekken, path)
        t = Tokenizer.from_file(path)
        def enc(s):
            ids = t.encode(s, add_special_tokens=False).ids
            assert all(i >= NUM_SPECIAL for i in ids), f"control id from plain text {s!r}"
            return ids
        return enc

    def _make_ref(self):
        sys.path.insert(0, TEXT_TOOLS)
        from tekken_ref import Tekken
        return Tekken(self.tekken).encode

    def encode(self, text): return self._encode(text)

    def decode(self, ids):
        out, run = [], b""
        for i in ids:
            if i < NUM_SPECIAL:
                out.append(run.decode("utf-8", "replace")); run = b""; out.append(SPECIALS[i])
            elif i - NUM_SPECIAL < len(self.ranks): run += self.ranks[i - NUM_SPECIAL]
            else: run += "\ufffd".encode()  # an id of the model's vocabulary that the tokenizer never uses
        return "".join(out) + run.decode("utf-8", "replace")

def cross_check(enc, texts, ref_limit=300):
    """The training encoder against the other backends that are installed: mismatch counts and examples."""
    res = {"training_encoder": enc.backend, "ranks": len(enc.ranks)}
    for b in ["tiktoken", "hf", "ref"]:
        if b == enc.backend: continue
        try: other = Encoder(enc.folder, b)
        except ImportError: res[b] = "not installed"; continue
        sample = texts[:ref_limit] if b == "ref" else texts
        bad = [t for t in sample if other.encode(t) != enc.encode(t)]
        res[b] = {"compared": len(sample), "mismatches": len(bad), "examples": bad[:3]}
    bad_rt = [t for t in texts if enc.decode(enc.encode(t)) != t]
    res["round_trip_failures"] = len(bad_rt)
    return res
