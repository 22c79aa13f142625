"""Times the libtorch kernels ModelGen's QuantizedLinear calls, beside bf16 linear, on a 4096 x 4096 weight, with the same
operations as the C# paths (a cross-check of kernel speed on another, idle machine; not ModelGen's own timing).

Usage: python3 bench_quant_kernels.py [threads ...]
"""
import os
import sys
import time

import torch


def timed(fn, repeat):
    for _ in range(3):
        fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main(threads_list):
    print("torch", torch.__version__, "cpus", os.cpu_count(), "load", os.getloadavg())
    k = n = 4096
    torch.manual_seed(0)
    w = torch.randn(n, k) * 0.02
    wb = w.bfloat16()
    scale8 = w.abs().amax(1) / 127
    q8 = (w / scale8[:, None]).round().clamp(-127, 127).to(torch.int8)
    g = 128
    grouped = w.view(n, k // g, g)
    lo, hi = grouped.amin(2).clamp(max=0), grouped.amax(2).clamp(min=0)
    s4 = ((hi - lo) / 15).clamp(min=1e-8)
    z4 = (-lo / s4).round().clamp(0, 15)
    codes = ((grouped / s4[..., None]).round() + z4[..., None]).clamp(0, 15).view(n, k).to(torch.int32)
    packed = torch._convert_weight_to_int4pack_for_cpu(codes, 8)
    sz = torch.stack([s4, (8 - z4) * s4], -1).transpose(0, 1).contiguous().bfloat16()
    nf4_bytes = torch.randint(0, 256, (n * k // 2,), dtype=torch.uint8)
    table = torch.randn(256, 2).bfloat16()
    absmax = torch.rand(n * k // 64)
    for threads in threads_list:
        torch.set_num_threads(threads)
        for m in (1, 256):
            x = torch.randn(m, k).bfloat16()
            repeat = 50 if m == 1 else 10
            with torch.no_grad():
                bf16 = timed(lambda: torch.nn.functional.linear(x, wb), repeat)
                int8 = timed(lambda: torch._weight_int8pack_mm(x, q8, scale8.bfloat16()), repeat)
                int8_deq = timed(lambda: torch.nn.functional.linear(x, q8.bfloat16()) * scale8.bfloat16(), repeat)
                int4 = timed(lambda: torch._weight_int4pack_mm_for_cpu(x, packed, g, sz), repeat)

                def nf4_tiles():
                    out = torch.empty(m, n, dtype=torch.bfloat16)
                    rows = 256
                    for r in range(0, n, rows):
                        b = nf4_bytes[r * k // 2:(r + rows) * k // 2]
                        vals = table.index_select(0, b.to(torch.int32)).view(rows * k // 64, 64)
                        vals.mul_(absmax[r * k // 64:(r + rows) * k // 64, None].bfloat16())
                        out[:, r:r + rows] = torch.nn.functional.linear(x, vals.view(rows, k))
                    return out

                nf4 = timed(nf4_tiles, max(3, repeat // 5))
            print(f"threads {threads} tokens {m}: bf16 {bf16:.3f} ms | int8 kernel {int8:.3f} ({int8 / bf16:.2f}x) | "
                  f"int8 cast+linear {int8_deq:.3f} ({int8_deq / bf16:.2f}x) | int4 kernel {int4:.3f} ({int4 / bf16:.2f}x) | "
                  f"nf4 tiles {nf4:.3f} ({nf4 / bf16:.2f}x)")
    print("load after", os.getloadavg())


if __name__ == "__main__":
    main([int(t) for t in sys.argv[1:]] or [2])
