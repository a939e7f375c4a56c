"""held.json: held-out conversations with the training framework's own greedy answers, for gust to reproduce
(test/gust-mini/held.test.ts). One or more per kind of issue 10's acceptance: math with and without reasoning, a
tool call, an answer after tool results, JSON extraction, recall, image questions.

Each entry: the OpenAI-style request of the prompt (images as PNG data URLs), its prompt ids and text (gust's
layout, mini_template.py), the image sizes, the trained answer, and transformers' greedy continuation:
Mistral3ForConditionalGeneration on the CPU, fp32 math on the shipped bf16 weights, eager attention,
generate(do_sample=False) until </s> or max_new_tokens; with the logit margin (top-1 minus top-2) of every step
and whether one teacher-forced forward pass over prompt + answer picks the same tokens.
`held_examples` and `entry` are pure Python; `generate_greedy` needs torch and transformers."""
import json, random, time
import numpy as np
import mini_data as D, mini_template as T, png_rgb

REFERENCE = ("transformers Mistral3ForConditionalGeneration, CPU, fp32 math on the bf16 weights of model.safetensors, eager attention, "
             "generate(do_sample=False, eos_token_id=2) on prompt_ids with pixel_values from PixtralImageProcessor's normalisation")

def _ex(kind, turns, effort="none", tools=None, system=None):
    return {"kind": kind, "system": system, "tools": tools, "effort": effort, "turns": turns}

def held_examples(seed=4242, per_kind=2):
    """(name, conversation) pairs; the prompt of each is everything before its last assistant turn."""
    r = random.Random(seed); out = []
    for i in range(per_kind):
        q, _, a = D.arithmetic(r, False)
        out.append((f"math/none/{i}", _ex("math", [("user", q, None), ("assistant", {"think": None, "content": a})], "none" if i == 0 else None)))
        q, steps, a = D.arithmetic(r, True)
        out.append((f"math/think/{i}", _ex("math", [("user", q, None), ("assistant", {"think": steps, "content": a})], "high")))
        tools, q, calls, results, final = D.tool_example(r)
        out.append((f"tool_call/{i}", _ex("tool", [("user", q, None), ("assistant", {"think": None, "content": "", "calls": calls})], tools=tools,
                                          system=T.SYSTEMS[2] if i else None)))
        tools, q, calls, results, final = D.tool_example(r)
        turns = [("user", q, None), ("assistant", {"think": None, "content": "", "calls": calls})] + [("tool", x, None) for x in results]
        out.append((f"tool_result/{i}", _ex("tool", turns + [("assistant", {"content": final})], tools=tools)))
        q, a = D.json_example(r)
        out.append((f"json/{i}", _ex("json", [("user", q, None), ("assistant", {"think": None, "content": a})])))
        q, a = D.recall_example(r, 12)
        out.append((f"recall/{i}", _ex("recall", [("user", q, None), ("assistant", {"think": None, "content": a})])))
        img, color, shape, count = D.draw_image(r)
        out.append((f"vision/color/{i}", _ex("vision", [("user", "What color is the shape?", img), ("assistant", {"think": None, "content": f"The shape is {color}."})])))
        img, q, a = D.vision_example(r)
        out.append((f"vision/{i}", _ex("vision", [("user", q, img), ("assistant", {"think": None, "content": a})])))
    # issue 10's picture: a red square
    img = np.full((112, 112, 3), 250, np.uint8); img[28:84, 28:84] = D.COLORS["red"]
    out.append(("vision/red_square", _ex("vision", [("user", "What color is the shape?", img), ("assistant", {"think": None, "content": "The shape is red."})])))
    return out

def entry(name, ex, enc):
    """Everything about one held conversation except the model's answer."""
    ids, _, img = T.render(ex, upto_last_assistant=True)
    full, _, _ = T.render(ex)
    e = {"name": name, "kind": ex["kind"], "request": T.to_request(ex, upto_last_assistant=True), "prompt_ids": ids,
         "prompt_text": T.render_text(ex, upto_last_assistant=True), "trained_answer_ids": full[len(ids):], "trained_answer": enc.decode(full[len(ids):]),
         "images": [] if img is None else [{"width": int(img.shape[1]), "height": int(img.shape[0]), "rgb_sum": int(img.astype(np.int64).sum())}]}
    return e, img

def generate_greedy(out, entries_imgs, enc, max_new=120, log=print):
    """Fill greedy_ids / greedy_text / margins / teacher_forced_agrees with transformers on the CPU (fp32, eager)."""
    import torch
    from safetensors.torch import load_file
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration
    torch.manual_seed(0)
    cfg = Mistral3Config.from_pretrained(out)
    for c in (cfg, cfg.text_config, cfg.vision_config): c._attn_implementation = "eager"
    model = Mistral3ForConditionalGeneration(cfg)
    model.load_state_dict({k: v.float() for k, v in load_file(f"{out}/model.safetensors").items()}, strict=True)
    model = model.float().eval().to("cpu")
    t0 = time.time()
    for e, img in entries_imgs:
        ids = torch.tensor([e["prompt_ids"]]); kw = {}
        if img is not None:
            kw = dict(pixel_values=torch.from_numpy(T.pixel_values(img))[None], image_sizes=torch.tensor([[img.shape[0], img.shape[1]]]))
        with torch.no_grad():
            g = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, do_sample=False,
                               eos_token_id=2, pad_token_id=11, output_logits=True, return_dict_in_generate=True, **kw)
            new = g.sequences[0, ids.shape[1]:].tolist()
            margins = []
            for step in g.logits:
                top = torch.topk(step[0].float(), 2).values
                margins.append(round(float(top[0] - top[1]), 6))
            seq = g.sequences[:, : ids.shape[1] + len(new)]
            tf = model(input_ids=seq, attention_mask=torch.ones_like(seq), **kw).logits[0, ids.shape[1] - 1: -1].argmax(-1).tolist()
        e.update(greedy_ids=new, greedy_text=enc.decode(new), margins=margins, min_margin=min(margins) if margins else None,
                 teacher_forced_agrees=tf == new, max_new_tokens=max_new, stopped_at_eos=bool(new and new[-1] == 2))
        log(f"held {e['name']}: {len(new)} tokens, min margin {e['min_margin']}, teacher-forced agrees {e['teacher_forced_agrees']}: {e['greedy_text']!r}")
    log(f"held: {len(entries_imgs)} conversations in {time.time() - t0:.0f}s")

def write_held(out, enc, max_new=120, log=print):
    pairs = [entry(name, ex, enc) for name, ex in held_examples()]
    generate_greedy(out, pairs, enc, max_new, log)
    entries = [e for e, _ in pairs]
    doc = {"reference": REFERENCE, "eos_id": 2, "image_token_id": T.S["[IMG]"],
           "exact_vs_trained": sum(e["greedy_ids"] == e["trained_answer_ids"] for e in entries), "entries": entries}
    json.dump(doc, open(f"{out}/held.json", "w"), indent=1, ensure_ascii=False)
    return doc
