using System;
using System.Threading;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// libtorch's packed quantized CPU matmuls, which TorchSharp 0.107 does not bind, reached through one TorchScript
    /// compilation unit. TorchScript resolves <c>torch._weight_int8pack_mm</c> and friends to the native operators, so each call
    /// costs one interpreter dispatch and runs the same kernels PyTorch's <c>torch.ops.aten</c> would.
    /// </summary>
    /// <remarks>
    /// A TorchScript compile error can abort the process (the design notes record it for TorchSharp 0.107; on Linux x64 a
    /// syntax error in this file's text surfaced instead as an <c>ExternalException</c> from <c>jit.compile</c>), so the text is
    /// fixed, compiled once per process on first use, and compiled by a unit test. Nothing user-supplied is ever compiled.
    /// </remarks>
    public static class QuantizedKernels
    {
        /// <summary>The fixed script (its four functions are what this class calls). Operator signatures: aten/src/ATen/native/native_functions.yaml (libtorch 2.10).</summary>
        public const string Script = """
def int8_weight_mm(x: Tensor, weight: Tensor, scales: Tensor) -> Tensor:
    return torch._weight_int8pack_mm(x, weight, scales)

def int4_pack(codes: Tensor, inner_k_tiles: int) -> Tensor:
    return torch._convert_weight_to_int4pack_for_cpu(codes, inner_k_tiles)

def int4_weight_mm(x: Tensor, packed: Tensor, group_size: int, scales_and_zeros: Tensor) -> Tensor:
    return torch._weight_int4pack_mm_for_cpu(x, packed, group_size, scales_and_zeros)

def int_mm(a: Tensor, b: Tensor) -> Tensor:
    return torch._int_mm(a, b)

""";

        private static readonly Lazy<jit.CompilationUnit> Unit = new(() => jit.compile(Script), LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>y = x · (w·diag(scales))ᵀ for int8 <paramref name="weight"/> [N, K] and <paramref name="scales"/> [N] in x's dtype; x is [M, K].</summary>
        public static Tensor Int8WeightMatmul(Tensor x, Tensor weight, Tensor scales) => Unit.Value.invoke<Tensor>("int8_weight_mm", x, weight, scales);

        /// <summary>Packs int32 codes in [0, 15], [N, K], into the CPU kernel's [N, K/2] uint8 layout.</summary>
        public static Tensor Int4Pack(Tensor codes, long innerKTiles) => Unit.Value.invoke<Tensor>("int4_pack", codes, innerKTiles);

        /// <summary>
        /// y = x · Wᵀ with W[n, k] = (q[n, k] − 8)·scale[k/g, n] + zero[k/g, n] (the tinygemm convention), from a packed weight and
        /// <paramref name="scalesAndZeros"/> [K/g, N, 2] in x's dtype; x is [M, K].
        /// </summary>
        public static Tensor Int4WeightMatmul(Tensor x, Tensor packed, long groupSize, Tensor scalesAndZeros) =>
            Unit.Value.invoke<Tensor>("int4_weight_mm", x, packed, groupSize, scalesAndZeros);

        /// <summary>int8 [M, K] · int8 [K, N] → int32 [M, N].</summary>
        public static Tensor IntMatmul(Tensor a, Tensor b) => Unit.Value.invoke<Tensor>("int_mm", a, b);

        /// <summary>Compiles the script now (it is otherwise compiled on first use).</summary>
        public static void EnsureCompiled() => _ = Unit.Value;
    }
}
