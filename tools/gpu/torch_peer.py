#!/usr/bin/env python3
"""The PyTorch peer of bench/lab/gpu-layer.ts: the same Mistral Medium 3.5 decoder layer (hidden 12288,
96/8 heads, head_dim 128, FFN 28672, FP8 E4M3 weights with per-tensor static scales) timed with
torch._scaled_mm for the FP8 linears and scaled_dot_product_attention for attention, so both can run in
one device call and be compared on the same GPU:

    python3 tools/gpu/torch_peer.py [--quick] [--json FILE]

Differences from gust, stated so the comparison stays honest:
  - activations are bf16 here (the usual PyTorch deployment); gust keeps them f32;
  - the KV cache is one contiguous bf16 tensor per sequence, not a paged f32 cache;
  - decode is measured eagerly and replayed as a CUDA graph (gust issues one FFI call per op, no graph yet).
Timing: CUDA events around `reps` back-to-back layers, median of 5 rounds, after warm-up.
"""
import argparse
import json

import torch
import torch.nn.functional as F

H, NH, NKV, D, FFN = 12288, 96, 8, 128, 28672
QW, KVW = NH * D, NKV * D
LINEARS = [("q_proj", QW, H), ("k_proj", KVW, H), ("v_proj", KVW, H), ("o_proj", H, QW),
           ("gate_proj", FFN, H), ("up_proj", FFN, H), ("down_proj", H, FFN)]
LAYER_BYTES = sum(n * k for _, n, k in LINEARS)  # 1,384,120,320 FP8 bytes
LINEAR_FLOP_PER_TOKEN = 2 * LAYER_BYTES
FP8_MAX = 448.0


def gpu_spec():
    name = torch.cuda.get_device_name()
    # dense datasheet figures (performance-anchors.md §2)
    if "H200" in name:
        return {"name": name, "bandwidth": 4.8e12, "fp8": 1979e12, "bf16": 989e12}
    return {"name": name, "bandwidth": 3.35e12, "fp8": 1979e12, "bf16": 989e12}


def fp8_weight(n, k, gen):
    # valid e4m3 codes with exponent 4..7 (|w| in [0.125, 1.875]), as the gust bench uses; no NaN codes
    sign = torch.randint(0, 2, (n, k), device="cuda", dtype=torch.uint8, generator=gen) << 7
    exp = (torch.randint(4, 8, (n, k), device="cuda", dtype=torch.uint8, generator=gen)) << 3
    man = torch.randint(0, 8, (n, k), device="cuda", dtype=torch.uint8, generator=gen)
    return (sign | exp | man).view(torch.float8_e4m3fn)


class Layer:
    def __init__(self):
        gen = torch.Generator(device="cuda").manual_seed(0)
        self.w = {name: fp8_weight(n, k, gen) for name, n, k in LINEARS}
        self.act_scale = torch.tensor(0.05, device="cuda")
        self.w_scale = torch.tensor(0.01, device="cuda")
        self.attn_norm = torch.ones(H, device="cuda", dtype=torch.bfloat16)
        self.mlp_norm = torch.ones(H, device="cuda", dtype=torch.bfloat16)
        self.pad_rows = None  # set on the first _scaled_mm call that insists on M % 16 == 0

    def linear(self, name, x):
        # transformers' FP8Linear: e4m3(clamp(x / act_scale)) · W_e4m3ᵀ · act_scale · weight_scale
        xq = (x.float() / self.act_scale).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
        m = xq.shape[0]
        if self.pad_rows and m % 16:
            xq = F.pad(xq.view(torch.uint8), (0, 0, 0, 16 - m % 16)).view(torch.float8_e4m3fn)
        try:
            y = torch._scaled_mm(xq, self.w[name].t(), scale_a=self.act_scale, scale_b=self.w_scale, out_dtype=torch.bfloat16)
        except RuntimeError:
            if self.pad_rows:
                raise
            self.pad_rows = True
            return self.linear(name, x)
        return y[:m]

    @staticmethod
    def rmsnorm(x, w):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).to(x.dtype) * w

    @staticmethod
    def rope(x, cos, sin):  # x [T, heads, D]; cos/sin [T, D/2]; rotate-half pairs (i, i + D/2)
        a, b = x[..., : D // 2], x[..., D // 2:]
        c, s = cos[:, None, :], sin[:, None, :]
        return torch.cat([a * c - b * s, b * c + a * s], dim=-1)

    def forward(self, h, cos, sin, k_cache, v_cache, pos, causal):
        """h [B, T, H] bf16 (B sequences of T rows); k/v_cache [B, NKV, ctx, D] with the new rows at pos.. ."""
        B, T, _ = h.shape
        x = self.rmsnorm(h, self.attn_norm).view(B * T, H)
        q = self.linear("q_proj", x).view(B * T, NH, D)
        k = self.linear("k_proj", x).view(B * T, NKV, D)
        v = self.linear("v_proj", x).view(B * T, NKV, D)
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        k_cache[:, :, pos:pos + T] = k.view(B, T, NKV, D).transpose(1, 2)
        v_cache[:, :, pos:pos + T] = v.view(B, T, NKV, D).transpose(1, 2)
        qh = q.view(B, T, NH, D).transpose(1, 2)
        ctx = pos + T
        attn = F.scaled_dot_product_attention(qh, k_cache[:, :, :ctx], v_cache[:, :, :ctx], is_causal=causal and T > 1,
                                              enable_gqa=True)
        h = h + self.linear("o_proj", attn.transpose(1, 2).reshape(B * T, QW)).view(B, T, H)
        x = self.rmsnorm(h, self.mlp_norm).view(B * T, H)
        g = F.silu(self.linear("gate_proj", x)) * self.linear("up_proj", x)
        return h + self.linear("down_proj", g).view(B, T, H)


def time_ms(fn, reps, rounds=5):
    fn(); fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / reps)
    return sorted(samples)[len(samples) // 2]


def step_inputs(B, T, cached):
    ctx = cached + T
    h = torch.randn(B, T, H, device="cuda", dtype=torch.bfloat16)
    cos = torch.randn(T, D // 2, device="cuda", dtype=torch.bfloat16)
    sin = torch.randn(T, D // 2, device="cuda", dtype=torch.bfloat16)
    k_cache = torch.randn(B, NKV, ctx, D, device="cuda", dtype=torch.bfloat16)
    v_cache = torch.randn(B, NKV, ctx, D, device="cuda", dtype=torch.bfloat16)
    return h, cos, sin, k_cache, v_cache


def graphed(fn):
    """Captures fn into a CUDA graph (after a warm-up on a side stream) and returns its replay."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn(); fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    spec = gpu_spec()
    layer = Layer()
    out = {"gpu": spec["name"], "torch": torch.__version__, "spec": spec}
    bw = spec["bandwidth"]
    print(f"{spec['name']} · PyTorch {torch.__version__} · HBM {bw / 1e12:.2f} TB/s spec")

    with torch.inference_mode():
        h, cos, sin, kc, vc = step_inputs(1, 1, 1023)
        fn = lambda: layer.forward(h, cos, sin, kc, vc, 1023, True)
        eager = time_ms(fn, 20 if args.quick else 100)
        replay = graphed(fn)
        graph = time_ms(replay, 20 if args.quick else 100)
        kv_bytes = 2 * 1024 * KVW * 2
        floor = (LAYER_BYTES + kv_bytes) / bw * 1e3
        print(f"\nbatch-1 decode, one layer, context 1024: eager {eager:.3f} ms, CUDA graph {graph:.3f} ms;"
              f" floor {floor:.3f} ms ({graph / floor:.2f}× graphed)")
        per = {}
        x = torch.randn(1, H, device="cuda", dtype=torch.bfloat16)
        xf = torch.randn(1, FFN, device="cuda", dtype=torch.bfloat16)
        xa = torch.randn(1, QW, device="cuda", dtype=torch.bfloat16)
        for name, n, k in LINEARS:
            inp = xa if name == "o_proj" else xf if name == "down_proj" else x
            ms = time_ms(lambda: layer.linear(name, inp), 50 if args.quick else 200)
            per[name] = ms
            print(f"  {name:<10} {n:5d} × {k:5d}: {ms:.3f} ms  floor {n * k / bw * 1e3:.3f} ms ({100 * n * k / bw * 1e3 / ms:.0f}% of spec BW)")
        out["batch1"] = {"eagerMs": eager, "graphMs": graph, "floor": floor, "perLinear": per}

        print("\ndecode batches (context 1024 each):")
        rows = {}
        for B in ([8, 128] if args.quick else [8, 32, 128]):
            h, cos, sin, kc, vc = step_inputs(B, 1, 1023)
            replay = graphed(lambda: layer.forward(h, cos, sin, kc, vc, 1023, True))
            ms = time_ms(replay, 10 if args.quick else 40)
            tflops = B * LINEAR_FLOP_PER_TOKEN / (ms / 1e3) / 1e12
            print(f"  batch {B:3d}: {ms:.3f} ms/layer (graph), linears {tflops:.1f} TFLOP/s (FP8 peak {spec['fp8'] / 1e12:.0f})")
            rows[B] = {"ms": ms, "tflops": tflops}
            del h, kc, vc
        out["decodeBatches"] = rows

        print("\nprefill, one sequence from scratch:")
        rows = {}
        for T in ([1024] if args.quick else [1024, 8192]):
            h, cos, sin, kc, vc = step_inputs(1, T, 0)
            ms = time_ms(lambda: layer.forward(h, cos, sin, kc, vc, 0, True), 1, 3)
            flop = T * LINEAR_FLOP_PER_TOKEN + 4 * NH * D * T * (T + 1) / 2
            print(f"  {T} tokens: {ms:.3f} ms/layer, {flop / (ms / 1e3) / 1e12:.0f} TFLOP/s overall")
            rows[T] = {"ms": ms, "tflops": flop / (ms / 1e3) / 1e12}
            del h, kc, vc
        out["prefill"] = rows

        print("\nbatch-1 decode vs context (bf16 KV cache):")
        rows = {}
        for ctx in ([1024, 65536] if args.quick else [1024, 4096, 16384, 65536]):
            h, cos, sin, kc, vc = step_inputs(1, 1, ctx - 1)
            replay = graphed(lambda: layer.forward(h, cos, sin, kc, vc, ctx - 1, True))
            ms = time_ms(replay, 10 if args.quick else 40)
            floor = (LAYER_BYTES + 2 * ctx * KVW * 2) / bw * 1e3
            print(f"  {ctx:6d} keys: {ms:.3f} ms/layer (graph), floor {floor:.3f} ms ({ms / floor:.2f}×)")
            rows[ctx] = {"ms": ms, "floor": floor}
            del h, kc, vc
        out["context"] = rows

    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    assert torch.cuda.is_available(), "torch_peer.py needs a CUDA GPU"
    main()
