"""Test convert_eagle.py without torch, and write the fixture test/gust-mini/convert.test.ts checks gust against.

Builds a random 2-layer EAGLE head in the Hugging Face-named layout eagle_head.py saves (bf16), for the target
test/fixtures/tiny-mistral3, converts it with convert_eagle.convert into test/fixtures/mini-eagle-convert/
(params.json + consolidated.safetensors), and writes golden.json + golden.safetensors: draft logits and hidden
states computed by the numpy reference (tools/fixtures/ref_text.py, fp32 math) from the HF-layout weights, i.e.
without going through the conversion. gust loading the converted files must reproduce them.
Checks here: exact round trip of the Q/K permutation against gust's permuteInterleavedRows rule, tensor names,
params.json against the target's config, and that skipping the Q/K permutation would change the outputs.
Usage (repo root): python3 tools/gust-mini/test_convert_eagle.py"""
import json, math, os, sys, tempfile
import numpy as np
HERE = os.path.dirname(os.path.abspath(__file__)); ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE); sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
from ref_text import Text, read_safetensors, write_safetensors
import convert_eagle as CE

TARGET = os.path.join(ROOT, "test", "fixtures", "tiny-mistral3"); OUT = os.path.join(ROOT, "test", "fixtures", "mini-eagle-convert")
P = "model.language_model."; N_LAYERS = 2
rng = np.random.default_rng(10)
cfg = json.load(open(f"{TARGET}/config.json")); tc = cfg["text_config"]
W, _ = read_safetensors(f"{TARGET}/model.safetensors")
C, H, KV, D, F, V = tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"], tc["intermediate_size"], tc["vocab_size"]

def bf16_bits(a):
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF).astype(np.uint16)
def from_bits(b): return (b.astype(np.uint32) << 16).view(np.float32)

# ---- a random head in eagle_head.py's layout ----
def rnd(o, i): return rng.standard_normal((o, i)).astype(np.float32) / math.sqrt(i)
HF = {"fc.weight": rnd(C, 2 * C), "norm.weight": 1 + 0.1 * rng.standard_normal(C).astype(np.float32)}
for l in range(N_LAYERS):
    for n, shape in {"self_attn.q_proj": (H * D, C), "self_attn.k_proj": (KV * D, C), "self_attn.v_proj": (KV * D, C), "self_attn.o_proj": (C, H * D),
                     "mlp.gate_proj": (F, C), "mlp.up_proj": (F, C), "mlp.down_proj": (C, F)}.items():
        HF[f"layers.{l}.{n}.weight"] = rnd(*shape)
    for n in ("input_layernorm", "post_attention_layernorm"): HF[f"layers.{l}.{n}.weight"] = 1 + 0.1 * rng.standard_normal(C).astype(np.float32)
HF = {k: from_bits(bf16_bits(v)) for k, v in HF.items()}  # bf16 values, as training saves them

tmp = tempfile.mkdtemp()
write_safetensors(f"{tmp}/eagle.safetensors", {k: ("BF16", bf16_bits(v)) for k, v in HF.items()}, {"format": "pt"})
params = CE.convert(f"{TARGET}/config.json", f"{tmp}/eagle.safetensors", OUT)

# ---- checks of the converted files ----
NAT, meta = read_safetensors(f"{OUT}/consolidated.safetensors")
names = {"eagle_linear.weight", "norm.weight"} | {f"layers.{l}.{n}.weight" for l in range(N_LAYERS) for n in
         ["attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1", "feed_forward.w2", "feed_forward.w3", "attention_norm", "ffn_norm"]}
assert set(NAT) == names, sorted(set(NAT) ^ names)
hdr_len = int.from_bytes(open(f"{OUT}/consolidated.safetensors", "rb").read(8), "little")
hdr = json.loads(open(f"{OUT}/consolidated.safetensors", "rb").read(8 + hdr_len)[8:])
assert all(v["dtype"] == "BF16" for k, v in hdr.items() if k != "__metadata__"), "dtype kept"

def gust_unpermute(w, n):
    """runtime/weights/names.ts permuteInterleavedRows, row by row: HF row h*D + j*D/2 + i <- native row h*D + 2i + j."""
    out = np.empty_like(w)
    for h in range(n):
        for j in range(2):
            for i in range(D // 2): out[h * D + j * (D // 2) + i] = w[h * D + 2 * i + j]
    return out
for l in range(N_LAYERS):
    assert np.array_equal(gust_unpermute(NAT[f"layers.{l}.attention.wq.weight"], H), HF[f"layers.{l}.self_attn.q_proj.weight"])
    assert np.array_equal(gust_unpermute(NAT[f"layers.{l}.attention.wk.weight"], KV), HF[f"layers.{l}.self_attn.k_proj.weight"])
    assert not np.array_equal(NAT[f"layers.{l}.attention.wq.weight"], HF[f"layers.{l}.self_attn.q_proj.weight"])
    for hf, nat in [("self_attn.v_proj", "attention.wv"), ("self_attn.o_proj", "attention.wo"), ("mlp.gate_proj", "feed_forward.w1"),
                    ("mlp.down_proj", "feed_forward.w2"), ("mlp.up_proj", "feed_forward.w3"), ("input_layernorm", "attention_norm"),
                    ("post_attention_layernorm", "ffn_norm")]:
        assert np.array_equal(NAT[f"layers.{l}.{nat}.weight"], HF[f"layers.{l}.{hf}.weight"]), nat
assert np.array_equal(NAT["eagle_linear.weight"], HF["fc.weight"]) and np.array_equal(NAT["norm.weight"], HF["norm.weight"])
rp = tc["rope_parameters"]
assert params["n_layers"] == N_LAYERS and params["dim"] == C and params["n_heads"] == H and params["n_kv_heads"] == KV and params["head_dim"] == D
assert params["yarn"] == {"factor": tc["max_position_embeddings"] / rp["original_max_position_embeddings"], "original_max_position_embeddings": rp["original_max_position_embeddings"],
                          "beta": rp["beta_fast"], "alpha": rp["beta_slow"]}, params["yarn"]
assert params["llama_4_scaling"] == {"beta": rp["llama_4_scaling_beta"], "original_max_position_embeddings": rp["original_max_position_embeddings"]}
assert params["rope_theta"] == rp["rope_theta"] and params["max_position_embeddings"] == tc["max_position_embeddings"]

# ---- golden: the draft run by the numpy reference on the HF-layout weights ----
def draft_text(weights):
    DW = {P + "embed_tokens.weight": W[P + "embed_tokens.weight"], P + "norm.weight": weights["norm.weight"], "lm_head.weight": W["lm_head.weight"]}
    for k, v in weights.items():
        if k.startswith("layers."): DW[P + k] = v
    dcfg = json.loads(json.dumps(cfg)); dcfg["text_config"]["num_hidden_layers"] = N_LAYERS
    return Text(dcfg, DW)
def draft_forward(text, weights, tokens, feats):
    """x[p] = fc(concat(embed(tokens[p]), feats[p])) at rotary position p -> layers -> norm -> the target's lm_head."""
    x = np.concatenate([W[P + "embed_tokens.weight"][np.asarray(tokens)], feats], -1) @ weights["fc.weight"].T
    text.W = dict(text.W); text.W[P + "embed_tokens.weight"] = x  # row p of the "embedding table" is x[p]
    logits, hid = text.forward(np.arange(len(tokens)))
    return logits, hid[-1]

target = Text(cfg, W)
G, _ = read_safetensors(f"{TARGET}/golden.safetensors")
cases = {"text": np.asarray(G["text_long.input_ids"][:40], np.int32), "random": rng.integers(64, V, size=24).astype(np.int32)}
gold, meta_cases = {}, []
for name, ids in cases.items():
    _, th = target.forward(ids); feats = th[-1]
    dl, dh = draft_forward(draft_text(HF), HF, ids[1:], feats[:-1])
    # control: the same head with Q/K rows left in HF order but read as native would give other outputs
    wrong = dict(HF)
    for l in range(N_LAYERS):
        wrong[f"layers.{l}.self_attn.q_proj.weight"] = gust_unpermute(HF[f"layers.{l}.self_attn.q_proj.weight"], H)
        wrong[f"layers.{l}.self_attn.k_proj.weight"] = gust_unpermute(HF[f"layers.{l}.self_attn.k_proj.weight"], KV)
    wl, _ = draft_forward(draft_text(wrong), wrong, ids[1:], feats[:-1])
    assert np.abs(wl - dl).max() > 1e-2, "the Q/K permutation must matter for this check to mean anything"
    gold[f"{name}.input_ids"] = ("I32", ids); gold[f"{name}.target_hidden"] = ("F32", feats.astype(np.float32))
    gold[f"{name}.draft_logits"] = ("F32", dl.astype(np.float32)); gold[f"{name}.draft_hidden"] = ("F32", dh.astype(np.float32))
    meta_cases.append({"name": name, "tokens": int(len(ids)), "draft_greedy_first8": [int(t) for t in dl.argmax(-1)[:8]]})
write_safetensors(f"{OUT}/golden.safetensors", gold)
json.dump({"made_by": "tools/gust-mini/test_convert_eagle.py", "target": "tiny-mistral3",
           "reference": "numpy (tools/fixtures/ref_text.py, fp32 math) on the Hugging Face-layout head before conversion: x[p] = "
                        "fc(concat(embed(token[p+1]), target_hidden[p])) -> 2 decoder layers (rotary position p, causal) -> norm -> target lm_head",
           "cases": meta_cases, "tensors": "<case>.input_ids [T], .target_hidden [T, C], .draft_logits [T-1, V], .draft_hidden [T-1, C]"},
          open(f"{OUT}/golden.json", "w"), indent=1)
size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
assert size < 1_000_000, size
print("ok: converted", len(NAT), "tensors; fixture", OUT, size, "bytes")
