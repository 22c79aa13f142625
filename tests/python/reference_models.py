"""Tiny GPT-2 and Llama with Hugging Face parameter names and reference forwards written with plain torch ops.

Usage: python3 reference_models.py OUTPUT_DIR

Writes, for each model M in (gpt2, llama):
  M.safetensors   weights, written by hand (see safetensors_io.py), Hugging Face names as the hub's files have them
  M.pt            the same weights through torch.save, as a Hugging Face *LMHeadModel / *ForCausalLM state_dict has them
  M-reference.safetensors   'tokens' (int64 [batch, seq]) and 'logits' (float32 [batch, seq, vocab]) of the reference forward
The sizes are printed as JSON on stdout for the C# test to check against its own config.
"""
import json
import math
import os
import sys

import torch

from safetensors_io import save

GPT2 = dict(vocab=64, context=32, hidden=64, layers=2, heads=4, ffn=256, eps=1e-5)
LLAMA = dict(vocab=64, hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, eps=1e-6, theta=500000.0)


def gpt2_weights(c, g):
    h, f = c["hidden"], c["ffn"]
    w = {"wte.weight": torch.randn(c["vocab"], h, generator=g) * 0.1, "wpe.weight": torch.randn(c["context"], h, generator=g) * 0.05}
    for i in range(c["layers"]):
        p = f"h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = 1 + 0.1 * torch.randn(h, generator=g)
            w[p + ln + ".bias"] = 0.1 * torch.randn(h, generator=g)
        # GPT-2's Conv1D stores its weight as [in, out] and computes x @ W + b.
        for name, (i_, o_) in {"attn.c_attn": (h, 3 * h), "attn.c_proj": (h, h), "mlp.c_fc": (h, f), "mlp.c_proj": (f, h)}.items():
            w[p + name + ".weight"] = torch.randn(i_, o_, generator=g) / math.sqrt(i_)
            w[p + name + ".bias"] = 0.05 * torch.randn(o_, generator=g)
    w["ln_f.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
    w["ln_f.bias"] = 0.1 * torch.randn(h, generator=g)
    return w


def causal_attention(q, k, v):
    # q [b, heads, s, d], k/v [b, heads, s, d]
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    s = q.shape[2]
    mask = torch.ones(s, s, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    return scores.softmax(-1) @ v


def gpt2_forward(c, w, tokens):
    b, s = tokens.shape
    h, heads = c["hidden"], c["heads"]
    d = h // heads
    x = w["wte.weight"][tokens] + w["wpe.weight"][torch.arange(s)]
    ln = lambda t, p: torch.nn.functional.layer_norm(t, (h,), w[p + ".weight"], w[p + ".bias"], c["eps"])
    for i in range(c["layers"]):
        p = f"h.{i}."
        a = ln(x, p + "ln_1")
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.view(b, s, heads, d).transpose(1, 2) for t in qkv.split(h, dim=-1))
        o = causal_attention(q, k, v).transpose(1, 2).reshape(b, s, h)
        x = x + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = ln(x, p + "ln_2") @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
        m = 0.5 * m * (1 + torch.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m ** 3)))  # GPT-2's "gelu_new"
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = ln(x, "ln_f")
    return x @ w["wte.weight"].T  # the head is tied to the token embedding


def llama_weights(c, g):
    h, f, heads, kv = c["hidden"], c["ffn"], c["heads"], c["kv_heads"]
    d = h // heads
    w = {"model.embed_tokens.weight": torch.randn(c["vocab"], h, generator=g) * 0.1}
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
        for name, (o_, i_) in {"self_attn.q_proj": (heads * d, h), "self_attn.k_proj": (kv * d, h), "self_attn.v_proj": (kv * d, h),
                               "self_attn.o_proj": (h, heads * d), "mlp.gate_proj": (f, h), "mlp.up_proj": (f, h), "mlp.down_proj": (h, f)}.items():
            w[p + name + ".weight"] = torch.randn(o_, i_, generator=g) / math.sqrt(i_)
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
    w["lm_head.weight"] = torch.randn(c["vocab"], h, generator=g) / math.sqrt(h)
    return w


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotary(x, theta):
    # Hugging Face Llama's rotate-half layout: feature i pairs with feature i + d/2.
    s, d = x.shape[-2], x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    angles = torch.outer(torch.arange(s, dtype=torch.float32), inv)
    angles = torch.cat([angles, angles], -1)
    half = d // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * angles.cos() + rotated * angles.sin()


def llama_forward(c, w, tokens):
    b, s = tokens.shape
    h, heads, kv = c["hidden"], c["heads"], c["kv_heads"]
    d = h // heads
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], c["eps"])
        q = (a @ w[p + "self_attn.q_proj.weight"].T).view(b, s, heads, d).transpose(1, 2)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).view(b, s, kv, d).transpose(1, 2)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).view(b, s, kv, d).transpose(1, 2)
        q, k = rotary(q, c["theta"]), rotary(k, c["theta"])
        # repeat_kv: key/value head j serves query heads j·group … (j+1)·group − 1.
        k = k.repeat_interleave(heads // kv, dim=1)
        v = v.repeat_interleave(heads // kv, dim=1)
        o = causal_attention(q, k, v).transpose(1, 2).reshape(b, s, h)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["eps"])
        gate = m @ w[p + "mlp.gate_proj.weight"].T
        up = m @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], c["eps"])
    return x @ w["lm_head.weight"].T


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    tokens = torch.randint(0, 64, (2, 12), generator=g)

    w = gpt2_weights(GPT2, g)
    # The hub's GPT-2 files hold the transformer's keys (no prefix) and the causal-mask buffers of older versions.
    hub = dict(w)
    for i in range(GPT2["layers"]):
        hub[f"h.{i}.attn.bias"] = torch.tril(torch.ones(GPT2["context"], GPT2["context"])).view(1, 1, GPT2["context"], GPT2["context"])
    save(os.path.join(out, "gpt2.safetensors"), hub, {"format": "pt"})
    # GPT2LMHeadModel.state_dict(): a 'transformer.' prefix and lm_head.weight tied to (one storage with) wte.weight.
    lm = {"transformer." + k: v for k, v in w.items()}
    lm["lm_head.weight"] = lm["transformer.wte.weight"]
    torch.save(lm, os.path.join(out, "gpt2.pt"))
    with torch.no_grad():
        save(os.path.join(out, "gpt2-reference.safetensors"), {"tokens": tokens, "logits": gpt2_forward(GPT2, w, tokens).contiguous()})

    w = llama_weights(LLAMA, g)
    save(os.path.join(out, "llama.safetensors"), w, {"format": "pt"})
    torch.save(w, os.path.join(out, "llama.pt"))
    with torch.no_grad():
        save(os.path.join(out, "llama-reference.safetensors"), {"tokens": tokens, "logits": llama_forward(LLAMA, w, tokens).contiguous()})

    print(json.dumps({"gpt2": GPT2, "llama": LLAMA, "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1])
