using System.Collections.Generic;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>How the walker treats a TorchSharp op: its result's shape and what autograd saves (docs/forward-analysis.md).</summary>
    internal enum OpRule
    {
        /// <summary>add, sub (and +, -): broadcast; saves nothing.</summary>
        AddSub,

        /// <summary>mul, div (and *, /): broadcast; saves both tensor operands (a scalar operand: nothing).</summary>
        MulDiv,

        /// <summary>matmul, mm, bmm: saves both operands.</summary>
        MatMul,

        /// <summary>Same shape; saves its input (gelu, silu, pow, square, log, sin, cos, abs).</summary>
        SavesInput,

        /// <summary>Same shape; saves its output (softmax, log_softmax, relu, tanh, sigmoid, exp, sqrt, rsqrt).</summary>
        SavesOutput,

        /// <summary>Same shape; saves nothing (neg, clone, tril, triu, contiguous, detach).</summary>
        SameShape,

        /// <summary>dropout: a mask of the input's shape.</summary>
        Dropout,

        /// <summary>masked_fill: the boolean mask.</summary>
        MaskedFill,

        /// <summary>where(condition, x, y): the boolean condition.</summary>
        Where,

        /// <summary>Casts (to, float, half, bfloat16, type): same shape, saves nothing.</summary>
        Cast,

        /// <summary>view, reshape: same elements, new shape; saves nothing.</summary>
        Reshape,

        /// <summary>transpose(a, b), swapaxes: saves nothing.</summary>
        Transpose,

        /// <summary>t(), mT: the last two dimensions swapped.</summary>
        TransposeLast,

        /// <summary>permute(dims): saves nothing.</summary>
        Permute,

        /// <summary>unsqueeze(dim): saves nothing.</summary>
        Unsqueeze,

        /// <summary>squeeze(dim): saves nothing.</summary>
        Squeeze,

        /// <summary>flatten(start, end): saves nothing.</summary>
        Flatten,

        /// <summary>cat(tensors, dim): saves nothing (only sizes).</summary>
        Cat,

        /// <summary>chunk(n, dim), split(size, dim): views; save nothing.</summary>
        Chunk,

        /// <summary>mean, sum over dimensions: save nothing (sizes only).</summary>
        Reduce,

        /// <summary>functional.layer_norm: input, fp32 mean and rstd.</summary>
        LayerNorm,

        /// <summary>functional.scaled_dot_product_attention: q, k, v, output, log-sum-exp.</summary>
        Attention,

        /// <summary>Index / slice selection: saves nothing (indices are integers), shape not followed.</summary>
        Select,

        /// <summary>arange, ones, zeros, full, empty, rand, randn: a new tensor without gradient; saves nothing.</summary>
        Create,
    }

    /// <summary>The ops the walker knows, by TorchSharp method name (instance methods of Tensor, torch.*, torch.nn.functional.*).</summary>
    internal static class OpTable
    {
        private static readonly Dictionary<string, OpRule> Rules = new()
        {
            ["add"] = OpRule.AddSub, ["sub"] = OpRule.AddSub, ["subtract"] = OpRule.AddSub,
            ["mul"] = OpRule.MulDiv, ["multiply"] = OpRule.MulDiv, ["div"] = OpRule.MulDiv, ["divide"] = OpRule.MulDiv,
            ["matmul"] = OpRule.MatMul, ["mm"] = OpRule.MatMul, ["bmm"] = OpRule.MatMul,
            ["gelu"] = OpRule.SavesInput, ["silu"] = OpRule.SavesInput, ["pow"] = OpRule.SavesInput, ["square"] = OpRule.SavesInput,
            ["log"] = OpRule.SavesInput, ["sin"] = OpRule.SavesInput, ["cos"] = OpRule.SavesInput, ["abs"] = OpRule.SavesInput,
            ["mish"] = OpRule.SavesInput, ["softplus"] = OpRule.SavesInput, ["leaky_relu"] = OpRule.SavesInput,
            ["softmax"] = OpRule.SavesOutput, ["log_softmax"] = OpRule.SavesOutput, ["relu"] = OpRule.SavesOutput,
            ["tanh"] = OpRule.SavesOutput, ["sigmoid"] = OpRule.SavesOutput, ["exp"] = OpRule.SavesOutput,
            ["sqrt"] = OpRule.SavesOutput, ["rsqrt"] = OpRule.SavesOutput,
            ["neg"] = OpRule.SameShape, ["clone"] = OpRule.SameShape, ["tril"] = OpRule.SameShape, ["triu"] = OpRule.SameShape,
            ["contiguous"] = OpRule.SameShape, ["detach"] = OpRule.SameShape,
            ["dropout"] = OpRule.Dropout,
            ["masked_fill"] = OpRule.MaskedFill, ["where"] = OpRule.Where,
            ["to"] = OpRule.Cast, ["to_type"] = OpRule.Cast, ["type"] = OpRule.Cast, ["float"] = OpRule.Cast, ["half"] = OpRule.Cast,
            ["bfloat16"] = OpRule.Cast,
            ["view"] = OpRule.Reshape, ["reshape"] = OpRule.Reshape,
            ["transpose"] = OpRule.Transpose, ["swapaxes"] = OpRule.Transpose, ["t"] = OpRule.TransposeLast,
            ["permute"] = OpRule.Permute, ["unsqueeze"] = OpRule.Unsqueeze, ["squeeze"] = OpRule.Squeeze, ["flatten"] = OpRule.Flatten,
            ["cat"] = OpRule.Cat, ["concat"] = OpRule.Cat, ["concatenate"] = OpRule.Cat,
            ["chunk"] = OpRule.Chunk, ["split"] = OpRule.Chunk,
            ["mean"] = OpRule.Reduce, ["sum"] = OpRule.Reduce,
            ["layer_norm"] = OpRule.LayerNorm,
            ["scaled_dot_product_attention"] = OpRule.Attention,
            ["arange"] = OpRule.Create, ["ones"] = OpRule.Create, ["zeros"] = OpRule.Create, ["full"] = OpRule.Create,
            ["empty"] = OpRule.Create, ["rand"] = OpRule.Create, ["randn"] = OpRule.Create, ["ones_like"] = OpRule.SameShape,
            ["zeros_like"] = OpRule.SameShape,
            ["index"] = OpRule.Select, ["select"] = OpRule.Select, ["narrow"] = OpRule.Select, ["slice"] = OpRule.Select,
        };

        /// <summary>The rule of a TorchSharp method, or null when the walker does not know it.</summary>
        public static OpRule? Find(string name) => Rules.TryGetValue(name, out var rule) ? rule : null;
    }
}
