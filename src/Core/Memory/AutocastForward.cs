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
        /// Why <paramref name="block"/> cannot run in a mixed-precision layer, or null when it can. Attention and FeedForward compute
        /// in 16 bits themselves (their <c>compute</c> argument); a Pooler builds its dense projection at one dtype; a quantized
        /// Linear or projection dequantizes to its own dtype; a sharded block is built by the tensor-parallel modules.
        /// </summary>
        /// <param name="block">A block of the layer.</param>
        public static string? Unsupported(BlockSpec block) => block switch
        {
            AttentionSpec { Quant: not null } or FeedForwardSpec { Quant: not null } => "a block with quantized projections computes in its quantization's dtype",
            PoolerSpec => "a [Pooler] builds its dense projection at one dtype; write it with a [Linear] block and tanh in Forward",
            LinearSpec { Quant: not null } => "a quantized Linear computes in its own dtype",
            { Shard: not ShardStyle.None } => "tensor-parallel blocks are built at their storage dtype",
            // Would otherwise run (and be counted) in fp32 inside a class that asked for 16-bit compute: refused, never silent.
            CrossAttentionSpec or RelativeAttentionSpec => "encoder-decoder attention blocks have no mixed-precision form yet; use [Precision(DType.BFloat16)] for 16-bit compute",
            MixtureOfExpertsSpec => "a mixture-of-experts block has no mixed-precision form yet; use [Precision(DType.BFloat16)] for 16-bit compute",
            _ => null,
        };

        /// <summary>
        /// The tensors <paramref name="block"/> creates in a layer computing in <paramref name="compute"/>: a Linear's from
        /// <see cref="Linear"/>, any other block's from <see cref="BlockForward"/> at <paramref name="d"/> (its storage width).
        /// </summary>
        internal static List<Created> Of(BlockSpec block, DType? compute, int d, Pass pass, long width, bool selective, bool pooled = false) =>
            (compute, block) switch
            {
                ({ } c, LinearSpec { Quant: null } linear) => Linear(linear, Sizes.Of(c), pass, pooled),
                ({ } c, AttentionSpec { Quant: null, Shard: ShardStyle.None } attention) => Attention(attention, Sizes.Of(c), d, pass, selective),
                ({ } c, FeedForwardSpec { Quant: null, Shard: ShardStyle.None } feedForward) => FeedForward(feedForward, Sizes.Of(c), d, pass, width, selective),
                _ => BlockForward.Of(block, d, pass, width, selective, pooled),
            };

        /// <summary>
        /// An Attention block under autocast (ModelGen.Nn.Attention with <c>compute</c>, Attention.Autocast.cs): its tensors at
        /// <paramref name="c"/> bytes (the input's one 16-bit copy shared by q/k/v, projections, rotary, the fused kernel's saves) with
        /// the eager core's fp32 softmax (<see cref="AttentionForward"/>), the four 16-bit weight copies, and the output cast back to
        /// the residual stream's <paramref name="d"/> bytes.
        /// </summary>
        internal static List<Created> Attention(AttentionSpec attention, int c, int d, Pass pass, bool selective)
        {
            var list = new List<Created>();
            AttentionForward.Add(attention, c, pass, 1, selective, list, autocast: true);
            var hidden = attention.Hidden.Value;
            var kv = attention.KvHeads.Value * (hidden / attention.Heads.Value);
            WeightCopies(list, attention.Name, pass, c, attention.Bias, ("q_proj", hidden, hidden), ("k_proj", hidden, kv), ("v_proj", hidden, kv), ("o_proj", hidden, hidden));
            list.Add(new Created(attention.Name, "output cast to the residual dtype", pass.Tokens * hidden * d, false, false));
            return list;
        }

        /// <summary>
        /// A FeedForward block under autocast (ModelGen.Nn.FeedForward with <c>compute</c>, FeedForward.Autocast.cs): its tensors at
        /// <paramref name="c"/> bytes (the input's one 16-bit copy, the projections' outputs, the activation at their dtype), the
        /// 16-bit weight copies of its projections, and the output cast back to the residual stream's <paramref name="d"/> bytes.
        /// </summary>
        internal static List<Created> FeedForward(FeedForwardSpec feedForward, int c, int d, Pass pass, long width, bool selective)
        {
            var list = BlockForward.Of(feedForward, c, pass, width, selective);
            long hidden = feedForward.Hidden.Value, inner = feedForward.Inner.Value;
            if (feedForward.Gated)
                WeightCopies(list, feedForward.Name, pass, c, feedForward.Bias, ("gate_proj", hidden, inner), ("up_proj", hidden, inner), ("down_proj", inner, hidden));
            else
                WeightCopies(list, feedForward.Name, pass, c, feedForward.Bias, ("up_proj", hidden, inner), ("down_proj", inner, hidden));
            list.Add(new Created(feedForward.Name, "output cast to the residual dtype", pass.Tokens * hidden * d, false, false));
            return list;
        }

        /// <summary>Each projection's 16-bit weight copy: kept for backward in training (AutocastLinear), a temporary in inference; bias copies are temporaries.</summary>
        private static void WeightCopies(List<Created> list, string name, Pass pass, int c, bool bias, params (string Projection, long In, long Out)[] projections)
        {
            foreach (var (projection, inputs, outputs) in projections)
            {
                list.Add(new Created(name, $"{projection} weight cast to {Width(c)}" + (pass.Training ? " (kept for backward)" : ""), inputs * outputs * c, pass.Training, pass.Training));
                if (bias)
                    list.Add(new Created(name, $"{projection} bias cast", outputs * c, false, false));
            }
        }

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
