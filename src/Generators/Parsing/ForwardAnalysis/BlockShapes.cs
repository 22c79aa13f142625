using System;
using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>
    /// What a block call does to a tensor, from its declaration: the last dimension it expects and the one it returns, whether it
    /// reads token ids, whether its memory model already counts its input as saved (so an op saving the same tensor adds nothing),
    /// and whether its output is split across tensor-parallel ranks. A class: the walker's dictionaries of shapes then run the
    /// runtime's shared precompiled code instead of code compiled just in time in every compiler process (docs/benchmarks-analyzers.md).
    /// </summary>
    internal sealed record BlockShape(SymbolicDim In, SymbolicDim Out, bool ReadsIds, bool SavesInput, bool ShardedOutput)
    {
        // Deeper nesting than this is a cycle (the memory model reports it); widths then stay unknown.
        private const int MaxDepth = 64;

        /// <summary>The shape rule of <paramref name="block"/>; <paramref name="layer"/> finds a sublayer's spec by type name.</summary>
        public static BlockShape Of(BlockSpec block, Func<string, LayerSpec?> layer) =>
            Of(block, layer, 0, new Dictionary<string, BlockShape>(StringComparer.Ordinal));

        // Each sublayer type is resolved once per call (memo): a layer that uses the next one twice, forty levels deep, would
        // otherwise be 2^40 walks (the fuzz seed Diamond40).
        private static BlockShape Of(BlockSpec block, Func<string, LayerSpec?> layer, int depth, Dictionary<string, BlockShape> memo) => block switch
        {
            LinearSpec l => new(SymbolicDim.Of(l.In), SymbolicDim.Of(l.Out), false, l.Quant is null, l.Shard is ShardStyle.Column or ShardStyle.Vocab),
            EmbeddingSpec e => new(SymbolicDim.Unknown, SymbolicDim.Of(e.Width), true, true, false),
            LayerNormSpec n => new(SymbolicDim.Of(n.Hidden), SymbolicDim.Of(n.Hidden), false, true, false),
            // RMSNorm saves an fp32 copy in 16-bit layers, not the tensor it receives: never deduplicated.
            RmsNormSpec n => new(SymbolicDim.Of(n.Hidden), SymbolicDim.Of(n.Hidden), false, false, false),
            AttentionSpec a => new(SymbolicDim.Of(a.Hidden), SymbolicDim.Of(a.Hidden), false, true, false),
            FeedForwardSpec f => new(SymbolicDim.Of(f.Hidden), SymbolicDim.Of(f.Hidden), false, true, false),
            MixtureOfExpertsSpec m => new(SymbolicDim.Of(m.Hidden), SymbolicDim.Of(m.Hidden), false, true, false), // the router saves its input
            CrossAttentionSpec c => new(SymbolicDim.Of(c.Hidden), SymbolicDim.Of(c.Hidden), false, true, false),
            RelativeAttentionSpec r => new(SymbolicDim.Of(r.Hidden), SymbolicDim.Of(r.Hidden), false, true, false),
            LayerRefSpec r => Child(r.LayerType, layer, depth, memo),
            StackSpec s => Child(s.LayerType, layer, depth, memo),
            _ => new(SymbolicDim.Unknown, SymbolicDim.Unknown, false, false, false), // Dropout keeps the shape
        };

        private static BlockShape Child(string type, Func<string, LayerSpec?> layer, int depth, Dictionary<string, BlockShape> memo)
        {
            if (memo.TryGetValue(type, out var known))
                return known;
            var spec = depth > MaxDepth ? null : layer(type);
            if (spec is null || spec.Blocks.Count == 0)
                return new(SymbolicDim.Unknown, SymbolicDim.Unknown, false, false, false);
            var first = Of(spec.Blocks[0], layer, depth + 1, memo);
            for (var i = 1; i < spec.Blocks.Count && !first.In.Known && !first.ReadsIds; i++)
                first = Of(spec.Blocks[i], layer, depth + 1, memo);
            var output = SymbolicDim.Unknown;
            for (var i = spec.Blocks.Count - 1; i >= 0 && !output.Known; i--)
                output = Of(spec.Blocks[i], layer, depth + 1, memo).Out;
            var shape = new BlockShape(first.In, output, first.ReadsIds, false, false);
            if (depth <= MaxDepth)
                memo[type] = shape; // a result cut short by the depth limit (a cycle) is not remembered
            return shape;
        }

        /// <summary>True for blocks that keep the shape they receive (Dropout).</summary>
        public static bool KeepsShape(BlockSpec block) => block is DropoutSpec;
    }
}
