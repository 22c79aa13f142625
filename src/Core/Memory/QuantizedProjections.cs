using System;
using System.Collections.Generic;
using ModelGen.Quantization;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// <c>[Quantize]</c> on an Attention or FeedForward block (issue 13): every projection is a <c>QuantizedLinear</c>
    /// (src/Runtime/Quantization/ProjectionQuantization.cs), stored as <see cref="QuantLayout.WeightBytes"/> says, frozen, and
    /// rebuilt in the compute dtype for each call. <c>QuantizedLinearFunction</c> saves no input (a frozen weight needs none for
    /// dL/dx), so the inputs a dense projection keeps for its weight gradient become temporaries.
    /// </summary>
    internal static class QuantizedProjections
    {
        /// <summary>True when <paramref name="block"/> is an Attention or FeedForward whose projections are quantized.</summary>
        public static bool Applies(BlockSpec block) => block is AttentionSpec or FeedForwardSpec && block.Quant is not null;

        /// <summary>One projection weight <c>[rows, columns]</c> (<c>[out, in]</c>) as stored: quantized bytes, no gradient, dense at each use.</summary>
        public static ParameterTensor Weight(QuantSpec quant, string name, long rows, long columns, long rankRows, long rankColumns, int elementBytes) =>
            new(name, rows * columns, rankRows * rankColumns,
                QuantLayout.WeightBytes(quant.Kind, quant.GroupSize, quant.DoubleQuant, rankColumns, rankRows), elementBytes, false, rankRows * rankColumns * elementBytes);

        /// <summary>The temporary of <see cref="DequantizedWeightBytes"/> (a label <see cref="ModelWalk"/> also reads: a prefill tile replaces it).</summary>
        public const string DequantizedWeight = "dequantized weight (largest projection)";

        /// <summary>
        /// The dequantized weight of the largest projection, in the compute dtype (<paramref name="d"/> bytes per element): the
        /// projections run one after another and each frees its weight before returning, so one such weight is live at a time.
        /// </summary>
        public static long DequantizedWeightBytes(BlockSpec block, int d)
        {
            // Loops rather than LINQ over the projections: fewer generic instantiations compiled in the compiler process.
            var any = false;
            var largest = 0L;
            foreach (var p in LoraTerms.Projections(block))
            {
                var bytes = p.In * p.Out * d;
                largest = any ? Math.Max(largest, bytes) : bytes;
                any = true;
            }
            return largest;
        }

        /// <summary>
        /// The input each projection reads, as a key shared by the projections that read the same tensor: Attention's q/k/v read
        /// the block input, o_proj the attention context; FeedForward's gate/up read the block input, down_proj the activation.
        /// </summary>
        public static string InputOf(BlockSpec block, string projection) => (block, projection) switch
        {
            (AttentionSpec, "o_proj") => "context (o_proj input)",
            (FeedForwardSpec, "down_proj") => "down_proj input",
            (LinearSpec, _) => "input",
            _ => "input (shared by the projections)",
        };

        /// <summary>Elements per token of the tensor <see cref="InputOf"/> names.</summary>
        public static long InputWidth(BlockSpec block, string projection)
        {
            foreach (var p in LoraTerms.Projections(block))
            {
                if (p.Name == projection)
                    return p.In;
            }
            return 0;
        }

        /// <summary>The distinct inputs of <paramref name="projections"/> with their widths (q, k and v adapters share one).</summary>
        public static List<ProjectionInput> Inputs(BlockSpec block, IEnumerable<Projection> projections)
        {
            var inputs = new List<ProjectionInput>();
            foreach (var p in projections)
            {
                var input = InputOf(block, p.Name);
                if (!inputs.Exists(i => i.Input == input)) // the first projection of each input gives its width, in first-seen order
                    inputs.Add(new ProjectionInput(input, InputWidth(block, p.Name)));
            }
            return inputs;
        }
    }

    /// <summary>A tensor one or more projections read, with its elements per token (a class: see <see cref="Projection"/>).</summary>
    internal sealed record ProjectionInput(string Input, long Width);
}
