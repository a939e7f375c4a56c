"""A stand-in for a training output folder, made without torch or a GPU, to rehearse the local follow-up
(ship.py, test/gust-mini/held.test.ts) before the real one exists. NOT a model: random weights of gust-mini's
exact shapes and config, a small tekken vocabulary learned in pure Python, a random EAGLE head in the training
layout, and held.json whose greedy ids come from the numpy reference (tools/fixtures/ref_text.py, fp32) for the
text conversations; image conversations get no reference ids (the held test then checks only that speculative
decoding matches plain decoding for them).
Usage: python3 tools/gust-mini/fake_out.py OUT; python3 tools/gust-mini/ship.py OUT DEST;
       GUST_MINI_DIR=DEST npx vitest run test/gust-mini/held.test.ts"""
import json, math, os, random, sys
import numpy as np
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE); sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import mini_template as T, mini_tokenizer as M, held_mini as H
from ref_text import Text, write_safetensors

out = sys.argv[1]; os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7); r = random.Random(7)
M.write_tokenizers(out, M.learn_ranks_py([t for _ in range(400) for t in T.texts(T.example(r))], 1400))
enc = M.Encoder(out, "ref"); T.bind(enc.encode)

C, F, NH, KV, HD, V, L = 256, 768, 8, 2, 32, T.VOCAB, 6
CV, FV, NHV, LV = 128, 384, 4, 3
rope = {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 4.0, "llama_4_scaling_beta": 0.1, "max_position_embeddings": 4096, "mscale": 1.0,
        "mscale_all_dim": 0.0, "original_max_position_embeddings": 1024, "rope_theta": 1000000.0, "rope_type": "yarn"}
cfg = {"image_token_index": 10, "model_type": "mistral3", "multimodal_projector_bias": False, "projector_hidden_act": "gelu", "spatial_merge_size": 2,
       "text_config": {"attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "head_dim": HD, "hidden_act": "silu", "hidden_size": C,
                       "initializer_range": 0.02, "intermediate_size": F, "max_position_embeddings": 4096, "model_type": "ministral3",
                       "num_attention_heads": NH, "num_hidden_layers": L, "num_key_value_heads": KV, "pad_token_id": 11, "rms_norm_eps": 1e-05,
                       "rope_parameters": rope, "sliding_window": None, "tie_word_embeddings": False, "use_cache": True, "vocab_size": V},
       "tie_word_embeddings": False, "transformers_version": "fake",
       "vision_config": {"attention_dropout": 0.0, "head_dim": CV // NHV, "hidden_act": "silu", "hidden_size": CV, "image_size": T.MAX_IMAGE,
                         "initializer_range": 0.02, "intermediate_size": FV, "model_type": "pixtral", "num_attention_heads": NHV, "num_channels": 3,
                         "num_hidden_layers": LV, "patch_size": 14, "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}},
       "vision_feature_layer": -1}
json.dump(cfg, open(f"{out}/config.json", "w"), indent=2)

def bf16(a):
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF).astype(np.uint16)
def rnd(*shape): return rng.standard_normal(shape).astype(np.float32) / math.sqrt(np.prod(shape[1:]))
def ones(n): return 1 + 0.05 * rng.standard_normal(n).astype(np.float32)
W = {"lm_head.weight": rnd(V, C), "model.language_model.embed_tokens.weight": rng.standard_normal((V, C)).astype(np.float32), "model.language_model.norm.weight": ones(C)}
for l in range(L):
    p = f"model.language_model.layers.{l}."
    W.update({p + "input_layernorm.weight": ones(C), p + "post_attention_layernorm.weight": ones(C), p + "self_attn.q_proj.weight": rnd(NH * HD, C),
              p + "self_attn.k_proj.weight": rnd(KV * HD, C), p + "self_attn.v_proj.weight": rnd(KV * HD, C), p + "self_attn.o_proj.weight": rnd(C, NH * HD) * 0.5,
              p + "mlp.gate_proj.weight": rnd(F, C), p + "mlp.up_proj.weight": rnd(F, C), p + "mlp.down_proj.weight": rnd(C, F) * 0.5})
p = "model.vision_tower."
W.update({p + "ln_pre.weight": ones(CV), p + "patch_conv.weight": rnd(CV, 3, 14, 14), "model.multi_modal_projector.norm.weight": ones(CV),
          "model.multi_modal_projector.patch_merger.merging_layer.weight": rnd(CV, 4 * CV), "model.multi_modal_projector.linear_1.weight": rnd(C, CV),
          "model.multi_modal_projector.linear_2.weight": rnd(C, C)})
for l in range(LV):
    q = f"{p}transformer.layers.{l}."
    W.update({q + "attention_norm.weight": ones(CV), q + "ffn_norm.weight": ones(CV), q + "feed_forward.gate_proj.weight": rnd(FV, CV),
              q + "feed_forward.up_proj.weight": rnd(FV, CV), q + "feed_forward.down_proj.weight": rnd(CV, FV)})
    for n in "qkvo": W[q + f"attention.{n}_proj.weight"] = rnd(CV, CV)
W["lm_head.weight"][len(enc.ranks) + T.NUM_SPECIAL:] = 0  # ids past the small vocabulary never win
W = {k: (bf16(v).astype(np.uint32) << 16).view(np.float32) for k, v in W.items()}  # bf16 values
write_safetensors(f"{out}/model.safetensors", {k: ("BF16", bf16(v)) for k, v in W.items()}, {"format": "pt"})
E = {"fc.weight": rnd(C, 2 * C), "norm.weight": ones(C)}
for n, shape in {"self_attn.q_proj": (NH * HD, C), "self_attn.k_proj": (KV * HD, C), "self_attn.v_proj": (KV * HD, C), "self_attn.o_proj": (C, NH * HD),
                 "mlp.gate_proj": (F, C), "mlp.up_proj": (F, C), "mlp.down_proj": (C, F)}.items(): E[f"layers.0.{n}.weight"] = rnd(*shape)
E["layers.0.input_layernorm.weight"] = ones(C); E["layers.0.post_attention_layernorm.weight"] = ones(C)
write_safetensors(f"{out}/eagle.safetensors", {k: ("BF16", bf16(v)) for k, v in E.items()}, {"format": "pt"})

ref = Text(cfg, W); entries = []
for name, ex in H.held_examples():
    e, img = H.entry(name, ex, enc)
    if img is None:
        ids = list(e["prompt_ids"]); new, margins = [], []
        for _ in range(6):
            logits, _ = ref.forward(ids); row = logits[-1]; top = np.sort(row)[-2:]
            t = int(np.argmax(row)); new.append(t); margins.append(float(top[1] - top[0])); ids.append(t)
        e.update(greedy_ids=new, margins=margins, greedy_text=enc.decode(new))
    else: e.update(greedy_ids=None, margins=[], greedy_text=None)
    entries.append(e)
json.dump({"reference": "FAKE: random weights; text greedy ids by tools/fixtures/ref_text.py (numpy fp32)", "eos_id": 2, "entries": entries},
          open(f"{out}/held.json", "w"), indent=1, ensure_ascii=False)
json.dump({"exact_match": {}, "fake": True}, open(f"{out}/eval.json", "w"))
json.dump({"fake": {"ok": True}}, open(f"{out}/status.json", "w"))
print(out, "fake training output written")
