using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// What a block of a mixed-precision layer (<c>[Precision(DType.Float32, Compute = …)]</c>, <see cref="LayerSpec.Compute"/>)
    /// creates, at the dtype each tensor really has. The generated layer runs each Linear as <c>ModelGen.AutocastLinear</c>: a 16-bit
    /// cast of its input times a 16-bit cast of its fp32 weight, as PyTorch's autocast runs <c>linear</c> (its lower-precision op
    /// list, aten/src/ATen/autocast_mode.h). Norms and embeddings run in fp32, as autocast keeps <c>layer_norm</c> in fp32 and
    /// leaves <c>embedding</c> at its weight's dtype; so those blocks are counted by <see cref="BlockForward"/> at the storage width.
    /// </summary>
    public static class AutocastForward
    {
        /// <summary>
        /// Why <paramref name="block"/> cannot run in a mixed-precision layer, or null when it can. Attention, FeedForward and Pooler
        /// build their projections inside ModelGen.Nn at one dtype; a quantized Linear dequantizes to its own dtype; a sharded Linear
        /// is built by the tensor-parallel modules. Write those layers with <c>[Linear]</c> blocks and ops in <c>Forward</c>.
        /// </summary>
        /// <param name="block">A block of the layer.</param>
        public static string? Unsupported(BlockSpec block) => block switch
        {
            AttentionSpec => "an [Attention] block builds its projections at one dtype; write attention with [Linear] blocks and ops in Forward",
            FeedForwardSpec => "a [FeedForward] block builds its projections at one dtype; write it with [Linear] blocks and an activation in Forward",
            PoolerSpec => "a [Pooler] builds its dense projection at one dtype; write it with a [Linear] block and tanh in Forward",
            LinearSpec { Quant: not null } => "a quantized Linear computes in its own dtype",
            { Shard: not ShardStyle.None } => "tensor-parallel blocks are built at their storage dtype",
            _ => null,
        };

        /// <summary>
        /// The tensors <paramref name="block"/> creates in a layer computing in <paramref name="compute"/>: a Linear's from
        /// <see cref="Linear"/>, any other block's from <see cref="BlockForward"/> at <paramref name="d"/> (its storage width).
        /// </summary>
        internal static List<Created> Of(BlockSpec block, DType? compute, int d, Pass pass, long width, bool selective, bool pooled = false) =>
            compute is { } c && block is LinearSpec { Quant: null } linear
                ? Linear(linear, Sizes.Of(c), pass, pooled)
                : BlockForward.Of(block, d, pass, width, selective, pooled);

        /// <summary>
        /// A Linear under autocast with <paramref name="c"/> bytes per compute element: in training autograd keeps the 16-bit input
        /// (a cast copy, or the input itself when it is already 16-bit) and the 16-bit weight copy until the Linear's backward (the
        /// copy PyTorch keeps in its autocast weight cache); the bias copy and the output are temporaries. In inference the weight
        /// copy is a temporary too.
        /// </summary>
        internal static List<Created> Linear(LinearSpec linear, int c, Pass pass, bool pooled)
        {
            var tokens = pooled ? pass.Batch : pass.Tokens;
            var weight = linear.In.Value * linear.Out.Value * c;
            var list = new List<Created>();
            var name = linear.Name;
            if (pass.Training)
            {
                list.Add(new Created(name, $"input cast to {Width(c)}", tokens * linear.In.Value * c, true, true));
                list.Add(new Created(name, $"weight cast to {Width(c)} (kept for backward)", weight, true, true));
            }
            else
            {
                list.Add(new Created(name, $"weight cast to {Width(c)}", weight, false, false));
            }
            if (linear.Bias)
                list.Add(new Created(name, "bias cast", linear.Out.Value * c, false, false));
            list.Add(new Created(name, "output", tokens * linear.Out.Value * c, false, false));
            return list;
        }

        private static string Width(int c) => c * 8 + "-bit";
    }
}
