"""Write test/gust-mini/template-cases.json: ~50 varied training conversations from mini_data.py as OpenAI-style
requests, with what mini_template renders for them (text with control tokens by name, and ids). The vitest
test/gust-mini/template.test.ts encodes each request with gust's encodeChat and must get the same.

Ids use the fixture vocabulary test/fixtures/tiny-mistral3/tekken.json (controls at 0-63) with the image size
limit set to gust-mini's 224, encoded by tools/text/tekken_ref.py: no tokenizers library, no torch.
`legacy_text` is what the shared (unfixed) template rendered, kept where it differs, so the test can show it
would have caught those differences.
Usage (repo root): python3 tools/gust-mini/dump_template_cases.py [OUT.json]"""
import collections, json, os, random, sys, tempfile
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
import mini_template as T, mini_tokenizer as M

ROOT = os.path.join(HERE, "..", "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "gust-mini", "template-cases.json")

def legacy_text(ex):
    """The shared template's layout: no [MODEL_SETTINGS] when the effort is None, json.dumps with ensure_ascii=True,
    assistant content not right-stripped."""
    d = json.dumps; out = "<s>"
    if ex["system"]: out += "[SYSTEM_PROMPT]" + ex["system"] + "[/SYSTEM_PROMPT]"
    if ex["tools"]: out += "[AVAILABLE_TOOLS]" + d(ex["tools"]) + "[/AVAILABLE_TOOLS]"
    if ex["effort"]: out += "[MODEL_SETTINGS]" + d({"reasoning_effort": ex["effort"]}) + "[/MODEL_SETTINGS]"
    for t in ex["turns"]:
        role, body = t[0], t[1]
        if role == "user":
            img = t[2] if len(t) > 2 else None
            out += "[INST]" + ("".join(T.image_controls(*img.shape[:2])) if img is not None else "") + body + "[/INST]"
        elif role == "tool": out += "[TOOL_RESULTS]" + body + "[/TOOL_RESULTS]"
        else:
            if body.get("think") is not None: out += "[THINK]" + body["think"] + "[/THINK]"
            out += body.get("content", "")
            for name, args in body.get("calls", []): out += "[TOOL_CALLS]" + name + "[ARGS]" + d(args)
            out += "</s>"
    return out

def signature(ex):
    a = [t[1] for t in ex["turns"] if t[0] == "assistant"]
    img = T.image_of(ex)
    return (ex["kind"], ex["effort"], sum(t[0] == "user" for t in ex["turns"]) > 1, any(x.get("think") == "" for x in a),
            max(len(x.get("calls", [])) for x in a) > 1, any(ord(c) > 127 for c in T.render_text(ex)),
            None if img is None else img.shape[:2], ex["system"] is not None)

def pick(n=50, seed=2024):
    """Every distinct signature first (kind, effort, multi-turn, cut thought, parallel calls, non-ASCII, image size,
    system prompt), then round-robin over kinds up to n."""
    r = random.Random(seed); pool = [T.example(r) for _ in range(6000)]
    chosen, seen, keys = [], set(), collections.Counter()
    cap = n // len(T.KINDS)
    must = [lambda s: s[4], lambda s: s[4] and s[1] == "high", lambda s: s[0] == "tool" and s[5], lambda s: s[0] == "json" and s[5],
            lambda s: s[3], lambda s: s[2] and s[1] == "high", lambda s: s[0] == "tool" and s[1] == "high" and s[7]]
    for want in must:  # parallel calls, non-ASCII tool arguments and JSON answers, cut thoughts, multi-turn reasoning
        ex = next(e for e in pool if want(signature(e)) and e not in chosen)
        seen.add(signature(ex)); chosen.append(ex); keys[ex["kind"]] += 1
    for ex in pool:
        s = signature(ex)
        if s not in seen and keys[ex["kind"]] < cap:
            seen.add(s); chosen.append(ex); keys[ex["kind"]] += 1
    for ex in pool:
        if len(chosen) >= n: break
        if ex not in chosen and keys[ex["kind"]] == min(keys[k] for k in T.KINDS): chosen.append(ex); keys[ex["kind"]] += 1
    return chosen

def main():
    tmp = tempfile.mkdtemp()
    doc = json.load(open(os.path.join(ROOT, "test", "fixtures", "tiny-mistral3", "tekken.json"), encoding="utf-8"))
    doc["image"]["max_image_size"] = T.MAX_IMAGE
    json.dump(doc, open(f"{tmp}/tekken.json", "w", encoding="utf-8"), ensure_ascii=False)
    enc = M.Encoder(tmp, "ref"); T.bind(enc.encode)
    cases = []
    for i, ex in enumerate(pick()):
        req = T.to_request(ex)
        prompt_req = T.to_request(ex, upto_last_assistant=True)
        assert req["messages"][: len(prompt_req["messages"])] == prompt_req["messages"]
        ids, mask, _ = T.render(ex); pids, _, _ = T.render(ex, upto_last_assistant=True)
        text, ptext = T.render_text(ex), T.render_text(ex, upto_last_assistant=True)
        assert enc.decode(ids) == text and enc.decode(pids) == ptext and ids[: len(pids)] == pids
        img = T.image_of(ex)
        c = {"name": f"{i:02d} {ex['kind']} effort={ex['effort']}" + (f" image={img.shape[1]}x{img.shape[0]}" if img is not None else ""),
             "kind": ex["kind"], "request": req, "prompt_messages": len(prompt_req["messages"]),
             "text": text, "ids": ids, "trained": [int(m) for m in mask], "prompt_text": ptext, "prompt_ids": pids}
        old = legacy_text(ex)
        if old != text: c["legacy_text"] = old
        cases.append(c)
    head = {"made_by": "tools/gust-mini/dump_template_cases.py", "tokenizer": "test/fixtures/tiny-mistral3/tekken.json with image.max_image_size = 224",
            "checked_by": "test/gust-mini/template.test.ts", "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        f.write('{"made_by": %s, "tokenizer": %s, "checked_by": %s, "cases": [\n' % tuple(json.dumps(head[k]) for k in ("made_by", "tokenizer", "checked_by")))
        f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases) + "\n]}\n")
    kinds = collections.Counter(c["kind"] for c in cases)
    print(OUT, len(cases), "cases", dict(kinds), "legacy differs in", sum("legacy_text" in c for c in cases), "bytes", os.path.getsize(OUT))

if __name__ == "__main__":
    main()
