"""Make the shipped folder (models/gust-mini/) from a training output folder, checking what it copies.

  config.json, model.safetensors   the model, Hugging Face layout, bf16 (as training wrote them)
  tekken.json                      the tokenizer gust encodes with, and the one place that states the instruct
                                   settings: version v15, reasoning_effort none|high (default none), image patch 14,
                                   max 224, merge 2 (runtime/text/load.ts reads tekken.json before tokenizer.json)
  tokenizer.json                   the same vocabulary for Hugging Face tooling, derived from tekken.json
                                   (tools/text/tekken_to_hf.py); must equal the one training encoded with
  draft/params.json + draft/consolidated.safetensors   the EAGLE head in Mistral's native layout (convert_eagle.py)
  eval.json, held.json             exact-match rates per task kind; held-out conversations with transformers' greedy ids
  training.json                    steps, losses, the tokenizer cross-check, the measured draft acceptance, phase status
  README.md                        what each file is
Usage: python3 tools/gust-mini/ship.py OUT DEST [--force]   (OUT: the training folder; DEST: models/gust-mini)"""
import json, os, shutil, struct, sys, tempfile
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
import convert_eagle, mini_template as T, mini_tokenizer as M

MAX_MODEL_MB, MAX_TOTAL_MB = 40, 60

def fail(msg): sys.exit(f"ship.py: {msg}")

def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; return json.loads(f.read(n))

def check_model(out):
    cfg = json.load(open(f"{out}/config.json")); tc, vc = cfg.get("text_config", {}), cfg.get("vision_config", {})
    if cfg.get("model_type") != "mistral3" or not vc: fail("config.json is not a Mistral3 model with a vision tower")
    if tc.get("vocab_size") != T.VOCAB or cfg.get("image_token_index") != T.S["[IMG]"]: fail("config.json: vocab_size / image_token_index differ from the template's")
    if vc.get("patch_size") != 14 or vc.get("image_size") != T.MAX_IMAGE or cfg.get("spatial_merge_size") != 2: fail("config.json: image geometry differs from tekken.json's")
    h = {k: v for k, v in header(f"{out}/model.safetensors").items() if k != "__metadata__"}
    bad = sorted({v["dtype"] for v in h.values()} - {"BF16"})
    if bad: fail(f"model.safetensors has {bad} tensors; expected bf16 only")
    if "lm_head.weight" not in h or not any(k.startswith("model.vision_tower.") for k in h): fail("model.safetensors lacks lm_head or the vision tower")
    return cfg

def check_tokenizer(out, tmp):
    d = json.load(open(f"{out}/tekken.json", encoding="utf-8")); c = d["config"]
    if c["version"] != "v15" or c["default_num_special_tokens"] != T.NUM_SPECIAL: fail("tekken.json is not v15 with 64 control tokens")
    if [s["token_str"] for s in d["special_tokens"]] != T.SPECIALS: fail("tekken.json control tokens differ from the template's")
    if d.get("image") != M.IMAGE: fail(f"tekken.json image block {d.get('image')} != {M.IMAGE}")
    want = {"reasoning_effort": {"type": "enum", "accepts_none": True, "default": T.DEFAULT_EFFORT, "values": T.EFFORTS}}
    if d.get("model_settings_builder") != want: fail("tekken.json model_settings_builder differs from the template's settings")
    if c["default_vocab_size"] > T.VOCAB: fail("tekken.json has more ids than the model's vocabulary")
    M.hf_from_tekken(f"{out}/tekken.json", f"{tmp}/tokenizer.json")
    if os.path.exists(f"{out}/tokenizer.json") and json.load(open(f"{out}/tokenizer.json", encoding="utf-8")) != json.load(open(f"{tmp}/tokenizer.json", encoding="utf-8")):
        fail("OUT/tokenizer.json differs from the one derived from tekken.json")
    return f"{tmp}/tokenizer.json"

def check_held(out):
    h = json.load(open(f"{out}/held.json", encoding="utf-8"))
    kinds = {e["name"].split("/")[0] for e in h["entries"]}
    need = {"math", "tool_call", "tool_result", "json", "recall", "vision"}
    if not need <= kinds: fail(f"held.json lacks {sorted(need - kinds)}")
    if not any(e["name"].startswith("math/think") for e in h["entries"]): fail("held.json lacks a reasoning case")
    for e in h["entries"]:
        if not e.get("greedy_ids") and not h["reference"].startswith("FAKE"): fail(f"held.json entry {e['name']} has no greedy ids")
        if e["prompt_ids"][0] != T.S["<s>"]: fail(f"held.json entry {e['name']}: prompt does not start with <s>")
    return h

def readme(cfg, held, training):
    ev = training.get("eval", {}).get("exact_match", {})
    rates = ", ".join(f"{k} {v['exact']}/{v['of']}" for k, v in ev.items()) or "see eval.json"
    acc = training.get("eagle", {}).get("measured_mean_tokens_per_step_k4_greedy")
    return f"""# gust-mini

The default model of `npm start` / `gust dev`: a ~7M-parameter Mistral3 (Pixtral-style vision tower + projector +
Ministral3 decoder with YaRN and llama-4 query scaling), trained from scratch by `tools/gust-mini/train_mini.py` on
synthetic conversations in gust's instruct v15 layout (arithmetic with and without `[THINK]`, tool calls and
results, JSON extraction, recall, small talk, images of coloured shapes), with an EAGLE draft head.
Made by `tools/gust-mini/ship.py`; see `tools/gust-mini/README.md` to retrain.

| file | what |
|---|---|
| `config.json`, `model.safetensors` | the model, Hugging Face layout, bf16 |
| `tekken.json` | the tokenizer gust uses; states the instruct settings: v15, `reasoning_effort` none/high (default none), images of 28-pixel cells up to 224 pixels |
| `tokenizer.json` | the same vocabulary for Hugging Face tools (derived from `tekken.json`) |
| `draft/` | the EAGLE head in Mistral's native draft layout (`params.json`, `consolidated.safetensors`) |
| `eval.json` | exact-match rate per task kind on fresh conversations (transformers, bf16 autocast): {rates} |
| `held.json` | {len(held['entries'])} held-out conversations with transformers' greedy answers (CPU, fp32); `test/gust-mini/held.test.ts` checks gust reproduces them |
| `training.json` | training steps and loss, tokenizer cross-check, draft acceptance ({acc} tokens per target step, greedy chain of 4, measured in training) |

It is a toy: it knows only those tasks, in English, on images up to 224 pixels.
"""

def main():
    args = [a for a in sys.argv[1:] if a != "--force"]
    if len(args) != 2: sys.exit(__doc__)
    out, dest = args
    if os.path.exists(dest) and os.listdir(dest) and "--force" not in sys.argv: fail(f"{dest} exists and is not empty (--force replaces it)")
    for f in ("config.json", "model.safetensors", "tekken.json", "held.json", "eval.json", "eagle.safetensors"):
        if not os.path.exists(f"{out}/{f}"): fail(f"{out}/{f} is missing")
    if os.path.getsize(f"{out}/model.safetensors") > MAX_MODEL_MB * 2**20: fail(f"model.safetensors is over {MAX_MODEL_MB} MiB")
    tmp = tempfile.mkdtemp()
    cfg = check_model(out); tokjson = check_tokenizer(out, tmp); held = check_held(out)
    training = {}
    for name, f in (("train", "train.json"), ("tokenizer_check", "tokenizer_check.json"), ("eagle", "eagle.json"), ("status", "status.json"), ("eval", "eval.json")):
        if os.path.exists(f"{out}/{f}"): training[name] = json.load(open(f"{out}/{f}", encoding="utf-8"))
    bad = [k for k, v in training.get("status", {}).items() if not v.get("ok")]
    if bad: print(f"ship.py: warning: training phases {bad} failed (status.json)")
    if os.path.exists(dest): shutil.rmtree(dest)
    os.makedirs(f"{dest}/draft")
    for f in ("config.json", "model.safetensors", "tekken.json", "held.json", "eval.json"): shutil.copy(f"{out}/{f}", f"{dest}/{f}")
    shutil.copy(tokjson, f"{dest}/tokenizer.json")
    convert_eagle.convert(f"{out}/config.json", f"{out}/eagle.safetensors", f"{dest}/draft")
    json.dump(training, open(f"{dest}/training.json", "w"), indent=1, ensure_ascii=False)
    open(f"{dest}/README.md", "w").write(readme(cfg, held, training))
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(dest) for f in fs)
    if total > MAX_TOTAL_MB * 2**20: fail(f"{dest} is {total / 2**20:.1f} MiB, over {MAX_TOTAL_MB}")
    for r, _, fs in os.walk(dest):
        for f in sorted(fs): print(f"{os.path.getsize(os.path.join(r, f)):>10}  {os.path.relpath(os.path.join(r, f), dest)}")
    print(f"ship.py: {dest} ready, {total / 2**20:.1f} MiB")

if __name__ == "__main__":
    main()
