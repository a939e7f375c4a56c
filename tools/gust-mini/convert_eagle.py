"""Convert gust-mini's EAGLE head from the ad-hoc Hugging Face-named layout eagle_head.py saves
(eagle.safetensors: fc.weight, layers.N.self_attn.{q,k,v,o}_proj.weight, layers.N.mlp.{gate,up,down}_proj.weight,
layers.N.{input,post_attention}_layernorm.weight, norm.weight) to Mistral's native draft layout, the one gust's
runtime/eagle/load-draft.ts loads for Mistral's real draft:
  params.json               the target's dims, the draft's n_layers, the same rope_theta / yarn / llama_4_scaling
  consolidated.safetensors  eagle_linear.weight [C, 2C] (columns: embedding half, then feature half),
                            layers.N.attention.{wq,wk,wv,wo}.weight with Q/K rows in Mistral's interleaved rotary
                            order (the inverse of runtime/weights/names.ts permuteInterleavedRows),
                            layers.N.feed_forward.{w1,w2,w3}.weight, layers.N.{attention_norm,ffn_norm}.weight, norm.weight
Tensors keep their dtype and bits (rows are moved, never recomputed). numpy only.
Usage: python3 convert_eagle.py TARGET_CONFIG_JSON EAGLE_SAFETENSORS OUT_DIR"""
import json, math, os, re, struct, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from ref_text import write_safetensors

CARRIER = {"BF16": np.uint16, "F16": np.uint16, "F32": np.uint32}
LAYER = {"self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk", "self_attn.v_proj": "attention.wv",
         "self_attn.o_proj": "attention.wo", "mlp.gate_proj": "feed_forward.w1", "mlp.down_proj": "feed_forward.w2",
         "mlp.up_proj": "feed_forward.w3", "input_layernorm": "attention_norm", "post_attention_layernorm": "ffn_norm"}

def read_raw(path):
    """name -> (dtype, raw array in its bit carrier, shaped)."""
    raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; hdr = json.loads(raw[8:8 + n]); base = 8 + n; out = {}
    for k, v in hdr.items():
        if k == "__metadata__": continue
        if v["dtype"] not in CARRIER: raise ValueError(f"{path}: {k} has dtype {v['dtype']}; expected BF16, F16 or F32")
        a, b = v["data_offsets"]
        out[k] = (v["dtype"], np.frombuffer(raw[base + a: base + b], CARRIER[v["dtype"]]).reshape(v["shape"]).copy())
    return out

def to_interleaved(w, n_heads, head_dim):
    """HF rotate-half row order -> Mistral's interleaved order: native row h*D + 2i + j = HF row h*D + j*D/2 + i."""
    return np.ascontiguousarray(w.reshape(n_heads, 2, head_dim // 2, -1).transpose(0, 2, 1, 3).reshape(n_heads * head_dim, -1))

def yarn_mscale(factor, m=1.0): return 1.0 if factor <= 1 else 0.1 * m * math.log(factor) + 1.0

def native_params(config, n_layers):
    """params.json for a draft of `n_layers` layers next to the HF-layout target described by `config` (config.json),
    such that gust reads the same RoPE / YaRN / query scaling for both (load-draft.ts checks it)."""
    tc = config.get("text_config", config)
    rp = tc.get("rope_parameters") or tc.get("rope_scaling") or {}
    max_pos = tc["max_position_embeddings"]; theta = rp.get("rope_theta", tc.get("rope_theta", 10000.0))
    p = {"dim": tc["hidden_size"], "n_layers": n_layers, "head_dim": tc.get("head_dim") or tc["hidden_size"] // tc["num_attention_heads"],
         "hidden_dim": tc["intermediate_size"], "n_heads": tc["num_attention_heads"], "n_kv_heads": tc.get("num_key_value_heads", tc["num_attention_heads"]),
         "norm_eps": tc["rms_norm_eps"], "vocab_size": tc["vocab_size"], "rope_theta": theta, "max_seq_len": max_pos,
         "max_position_embeddings": max_pos, "tied_embeddings": bool(tc.get("tie_word_embeddings", False)),
         "bos_token_id": tc.get("bos_token_id", 1), "eos_token_id": tc.get("eos_token_id", 2), "pad_token_id": tc.get("pad_token_id", 11)}
    kind = rp.get("rope_type", rp.get("type", "default"))
    l0 = rp.get("original_max_position_embeddings")
    if kind == "yarn":
        # transformers (and gust's HF reader) recompute the factor from the context lengths when the original is given
        factor = max_pos / l0 if l0 else rp["factor"]
        if rp.get("attention_factor") is not None: att = rp["attention_factor"]
        elif rp.get("mscale") and rp.get("mscale_all_dim"): att = yarn_mscale(factor, rp["mscale"]) / yarn_mscale(factor, rp["mscale_all_dim"])
        else: att = yarn_mscale(factor)
        yarn = {"factor": factor, "original_max_position_embeddings": l0 or max_pos, "beta": rp.get("beta_fast") or 32.0, "alpha": rp.get("beta_slow") or 1.0}
        if att == 1.0 and factor > 1: yarn["apply_scale"] = False
        elif abs(att - yarn_mscale(factor)) > 1e-12: raise ValueError(f"YaRN attention factor {att} cannot be written in params.json (it has get_mscale(factor) or 1)")
        if not rp.get("truncate", True): raise ValueError("rope_parameters.truncate = false has no params.json spelling")
        p["yarn"] = yarn
    elif kind == "default":
        if l0 and l0 != max_pos: raise ValueError("default RoPE with original_max_position_embeddings != max_position_embeddings")
    else: raise ValueError(f"rope type {kind!r} is not supported")
    beta = rp.get("llama_4_scaling_beta")
    if beta: p["llama_4_scaling"] = {"beta": beta, "original_max_position_embeddings": l0 or max_pos}
    return p

def convert(config_path, eagle_path, out_dir):
    config = json.load(open(config_path)); src = read_raw(eagle_path)
    layers = sorted({int(m.group(1)) for k in src for m in [re.match(r"layers\.(\d+)\.", k)] if m})
    if layers != list(range(len(layers))) or not layers: raise ValueError(f"draft layers {layers}: expected 0..n-1")
    params = native_params(config, len(layers))
    C, H, KV, D, F = params["dim"], params["n_heads"], params["n_kv_heads"], params["head_dim"], params["hidden_dim"]
    want = {"fc.weight": [C, 2 * C], "norm.weight": [C]}
    for l in layers:
        for hf, shape in {"self_attn.q_proj": [H * D, C], "self_attn.k_proj": [KV * D, C], "self_attn.v_proj": [KV * D, C], "self_attn.o_proj": [C, H * D],
                          "mlp.gate_proj": [F, C], "mlp.up_proj": [F, C], "mlp.down_proj": [C, F], "input_layernorm": [C], "post_attention_layernorm": [C]}.items():
            want[f"layers.{l}.{hf}.weight"] = shape
    if set(src) != set(want): raise ValueError(f"unexpected tensors {sorted(set(src) - set(want))}, missing {sorted(set(want) - set(src))}")
    out = {}
    for name, (dt, a) in src.items():
        if list(a.shape) != want[name]: raise ValueError(f"{name} has shape {list(a.shape)}, expected {want[name]}")
        if name == "fc.weight": out["eagle_linear.weight"] = (dt, a); continue
        if name == "norm.weight": out[name] = (dt, a); continue
        l, rest = re.match(r"layers\.(\d+)\.(.+)\.weight$", name).groups()
        if rest == "self_attn.q_proj": a = to_interleaved(a, H, D)
        if rest == "self_attn.k_proj": a = to_interleaved(a, KV, D)
        out[f"layers.{l}.{LAYER[rest]}.weight"] = (dt, a)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(f"{out_dir}/consolidated.safetensors", out)
    json.dump(params, open(f"{out_dir}/params.json", "w"), indent=2)
    return params

if __name__ == "__main__":
    if len(sys.argv) != 4: sys.exit(__doc__)
    print(json.dumps(convert(*sys.argv[1:])))
