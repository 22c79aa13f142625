using System;
using ModelGen.Quantization;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The bf16 prefill tile of quantized projections on the CPU (src/Runtime/Quantization/QuantizedLinear.Inference.cs): above a
    /// few rows, a bf16 projection rebuilds its weight a tile of rows at a time into one buffer per thread and multiplies each tile by
    /// libtorch's bf16 GEMM. The buffer is kept from one call to the next while calls keep using tiles, and freed by the first
    /// quantized call that does not (a decode step): a fresh 16 MiB buffer on every call is page-faulted anew whenever the
    /// calling thread's malloc arena maps it afresh, which made a 256-token call 1.6–1.7× slower (docs/benchmarks-quantization.md).
    /// So a prefill pass holds one tile, of the largest projection that uses one, through all its steps (<see cref="Phases"/>), and
    /// the projections' own dequantized weights are not temporaries then.
    /// </summary>
    public static class PrefillTile
    {
        /// <summary>Elements of the largest tile (2^23, 16 MiB in bf16): whole rows up to this many elements.</summary>
        public const long MaxElements = 1L << 23;

        /// <summary>Up to this many rows an Int8 projection calls libtorch's int8 kernel instead (no tile).</summary>
        public const long Int8KernelMaxRows = 16;

        /// <summary>Up to this many rows an Int4 projection calls libtorch's int4 kernel instead (no tile).</summary>
        public const long Int4KernelMaxRows = 16;

        /// <summary>Up to this many rows an NF4 projection runs ModelGen's NF4 kernel instead (no tile).</summary>
        public const long Nf4KernelMaxRows = 4;

        /// <summary>Elements of the tile of a <c>[outFeatures, inFeatures]</c> weight: as many whole rows as fit in <see cref="MaxElements"/>.</summary>
        public static long Elements(long inFeatures, long outFeatures) =>
            Math.Min(outFeatures, Math.Max(1, MaxElements / inFeatures)) * inFeatures;

        /// <summary>Whether the tile kernels take this shape (AVX-512 loops over whole 32-element groups; int32 element counts).</summary>
        public static bool Fits(QuantKind kind, long inFeatures, long outFeatures, int groupSize) =>
            inFeatures * outFeatures <= int.MaxValue && inFeatures % 32 == 0 && (kind == QuantKind.Int8 || groupSize % 32 == 0);

        /// <summary>
        /// Whether a call of <paramref name="rows"/> rows (tokens × batch) of a tile-shaped projection goes through the tile rather
        /// than a kernel: above the kernel's row limit, or at any rows where the kernel does not take the shape (libtorch's int4
        /// kernel tiles the outputs by 16; the NF4 kernel needs whole blocks per row).
        /// </summary>
        public static bool UsesTile(QuantKind kind, long rows, long inFeatures, long outFeatures, int groupSize) => kind switch
        {
            QuantKind.Int8 => rows > Int8KernelMaxRows,
            QuantKind.Int4 => rows > Int4KernelMaxRows || outFeatures % 16 != 0,
            _ => rows > Nf4KernelMaxRows || inFeatures % groupSize != 0,
        };

        /// <summary>
        /// Bytes of the tile a quantized block's largest projection holds in this pass, or 0 where no tile is used: not on the CPU,
        /// training (autograd takes the dequantizing function), a dtype other than bf16, or too few rows. Assumes a CPU with
        /// AVX-512 (where the runtime's tiles run); elsewhere the runtime's transient is smaller, never larger.
        /// </summary>
        internal static long Bytes(BlockSpec block, DType dtype, Pass pass)
        {
            if (block.Quant is not { } quant || quant.Kind == QuantKind.None || pass.Device.Kind != DeviceKind.Cpu || pass.Training
                || dtype != DType.BFloat16)
                return 0;
            var ranks = block.Shard == ShardStyle.None ? 1 : pass.Ranks;
            long largest = 0;
            foreach (var (name, inFeatures, outFeatures) in LoraTerms.Projections(block))
            {
                // A row-parallel projection (o_proj, down_proj, a [Linear] sharded by rows) splits its inputs, the others their outputs.
                var row = name is "o_proj" or "down_proj" || (block is LinearSpec && block.Shard == ShardStyle.Row);
                var rankIn = row ? Sizes.Share(inFeatures, ranks) : inFeatures;
                var rankOut = row ? outFeatures : Sizes.Share(outFeatures, ranks);
                var group = quant.GroupSize > 0 ? quant.GroupSize // the kind's default otherwise (Int8's one scale per row needs none)
                    : quant.Kind == QuantKind.Int4 ? QuantLayout.Int4DefaultGroupSize : quant.Kind == QuantKind.NF4 ? QuantLayout.NF4DefaultBlockSize : 1;
                if (Fits(quant.Kind, rankIn, rankOut, group) && UsesTile(quant.Kind, pass.Tokens, rankIn, rankOut, group))
                    largest = Math.Max(largest, Elements(rankIn, rankOut) * Sizes.Of(DType.BFloat16));
            }
            return largest;
        }
    }
}
