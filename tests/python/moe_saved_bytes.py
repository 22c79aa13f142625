"""Bytes autograd saves for ModelGen's mixture-of-experts forward, measured with torch.autograd.graph.saved_tensors_hooks.

Runs the op sequence of src/Runtime/Nn/MixtureOfExperts.cs (router, fp32 softmax, top-k, renormalisation, stable sort by
expert, capacity, gather, experts, weighting, index_add_, load-balancing loss) in PyTorch and sums the distinct storages
autograd saves, leaving out the parameters (weights, not activations). Writes moe_saved_bytes.json into the folder given as
the first argument: {case: {"saved": bytes, "rows": routed rows}}. Used by tests/ModelGen.Runtime.Tests/Nn/MixtureOfExpertsSavedTests.cs.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F


def run(tokens, hidden, inner, experts, top_k, activation, dtype, capacity_factor):
    torch.manual_seed(0)
    x = torch.randn(tokens, hidden, dtype=dtype).requires_grad_()
    gate = torch.randn(experts, hidden, dtype=dtype).requires_grad_()
    gated = activation in ("swiglu", "geglu")
    w1 = [torch.randn(inner, hidden, dtype=dtype).requires_grad_() for _ in range(experts)]
    w3 = [torch.randn(inner, hidden, dtype=dtype).requires_grad_() for _ in range(experts)] if gated else []
    w2 = [torch.randn(hidden, inner, dtype=dtype).requires_grad_() for _ in range(experts)]
    parameters = {p.untyped_storage().data_ptr() for p in [gate, *w1, *w2, *w3]}
    saved = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in parameters:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    def act(first, up):
        if activation == "swiglu":
            return F.silu(first) * up
        if activation == "geglu":
            return F.gelu(first, approximate="tanh") * up
        return F.gelu(first, approximate="tanh")

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        flat = x.reshape(-1, hidden)
        probabilities = F.linear(flat, gate).softmax(-1, dtype=torch.float32)
        top, chosen = probabilities.topk(top_k, dim=-1)
        weights = (top / top.sum(-1, keepdim=True)).to(dtype)
        choices = chosen.reshape(-1)
        _, order = choices.sort(stable=True, dim=0)
        counts = torch.bincount(choices, minlength=experts).tolist()
        capacity = tokens * top_k if capacity_factor == 0 else min(tokens, math.ceil(capacity_factor * tokens * top_k / experts))
        kept = [min(c, capacity) for c in counts]
        if any(c > capacity for c in counts):
            pieces, start = [], 0
            for e in range(experts):
                if kept[e] > 0:
                    pieces.append(order.narrow(0, start, kept[e]))
                start += counts[e]
            order = torch.cat(pieces, 0)
        token_of_row = torch.div(order, top_k, rounding_mode="floor")
        routed = flat.index_select(0, token_of_row)
        routed_weights = weights.reshape(-1).index_select(0, order).unsqueeze(1)
        output = torch.zeros(tokens, hidden, dtype=dtype)
        row = 0
        for e in range(experts):
            if kept[e] == 0:
                continue
            rows = routed.narrow(0, row, kept[e])
            first = F.linear(rows, w1[e])
            activated = act(first, F.linear(rows, w3[e]) if gated else None)
            expert_output = F.linear(activated, w2[e])
            output.index_add_(0, token_of_row.narrow(0, row, kept[e]), expert_output * routed_weights.narrow(0, row, kept[e]))
            row += kept[e]
        fraction = torch.tensor(counts).to(torch.float32) / tokens
        balance = (fraction * probabilities.mean(0)).sum() * experts
    (output.float().sum() + balance).backward()  # the graph is whole: every saved tensor is used
    return {"saved": sum(saved.values()), "rows": row}


def main():
    folder = sys.argv[1]
    cases = {
        "swiglu-fp32": run(96, 16, 24, 4, 2, "swiglu", torch.float32, 0),
        "swiglu-bf16": run(96, 16, 24, 4, 2, "swiglu", torch.bfloat16, 0),
        "gelu-top1-fp32": run(96, 16, 24, 4, 1, "gelu", torch.float32, 0),
        "geglu-top3-fp32": run(96, 16, 24, 6, 3, "geglu", torch.float32, 0),
        "swiglu-capacity-fp32": run(96, 16, 24, 4, 2, "swiglu", torch.float32, 0.75),
    }
    path = os.path.join(folder, "moe_saved_bytes.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(cases, f)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
