using System;
using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Widths the opaque user forward does not state, derived from the declared blocks: a block's input is as wide as the block
    /// says (Linear in-features, the hidden size of norms, attention and feed-forward); a Dropout applies to the output of the
    /// block declared just before it (else to the input of the one after it); a layer's input is its first block's input.
    /// </summary>
    internal static class Widths
    {
        // Nesting deeper than this is a cycle (reported by the walker); widths then stay unknown instead of recursing forever.
        private const int MaxDepth = 64;

        /// <summary>Width of the tensor the Dropout at <paramref name="index"/> applies to (0 for other blocks).</summary>
        public static long DropoutWidth(LayerSpec layer, int index, IReadOnlyDictionary<string, LayerSpec> layers)
        {
            if (layer.Blocks[index] is not DropoutSpec dropout)
                return 0;
            for (var i = index - 1; i >= 0; i--)
            {
                if (Output(layer.Blocks[i], layers, 0) is { } width)
                    return width;
            }
            for (var i = index + 1; i < layer.Blocks.Count; i++)
            {
                if (Input(layer.Blocks[i], layers, 0) is { } width)
                    return width;
            }
            throw new ArgumentException($"Dropout '{dropout.Name}' in '{layer.Name}': no other block of the layer gives the width it applies to.");
        }

        /// <summary>Bytes of a block's input: token ids for an embedding, else tokens × width at the block's dtype.</summary>
        public static long BlockInputBytes(BlockSpec block, int d, Pass pass, IReadOnlyDictionary<string, LayerSpec> layers) =>
            block is EmbeddingSpec ? pass.Tokens * Sizes.Int64 : pass.Tokens * (Input(block, layers, 0) ?? 0) * d;

        /// <summary>Bytes of a layer's input (what a full checkpoint keeps): its first sized block's input, cast to the layer's precision.</summary>
        public static long LayerInputBytes(LayerSpec layer, DType precision, Pass pass, IReadOnlyDictionary<string, LayerSpec> layers)
        {
            foreach (var block in layer.Blocks)
            {
                if (block is EmbeddingSpec)
                    return pass.Tokens * Sizes.Int64;
                if (Input(block, layers, 0) is { } width)
                    return pass.Tokens * width * Sizes.Of(precision);
            }
            return 0;
        }

        private static long? Input(BlockSpec block, IReadOnlyDictionary<string, LayerSpec> layers, int depth) => depth > MaxDepth ? null : block switch
        {
            LinearSpec linear => linear.In.Value,
            EmbeddingSpec => null,
            LayerNormSpec norm => norm.Hidden.Value,
            RmsNormSpec norm => norm.Hidden.Value,
            AttentionSpec attention => attention.Hidden.Value,
            FeedForwardSpec feedForward => feedForward.Hidden.Value,
            MixtureOfExpertsSpec moe => moe.Hidden.Value,
            PoolerSpec pooler => pooler.Hidden.Value,
            CrossAttentionSpec cross => cross.Hidden.Value,
            RelativeAttentionSpec relative => relative.Hidden.Value,
            LayerRefSpec reference => First(reference.LayerType, layers, depth + 1),
            StackSpec stack => First(stack.LayerType, layers, depth + 1),
            _ => null,
        };

        private static long? Output(BlockSpec block, IReadOnlyDictionary<string, LayerSpec> layers, int depth) => depth > MaxDepth ? null : block switch
        {
            LinearSpec linear => linear.Out.Value,
            EmbeddingSpec embedding => embedding.Width.Value,
            LayerNormSpec norm => norm.Hidden.Value,
            RmsNormSpec norm => norm.Hidden.Value,
            AttentionSpec attention => attention.Hidden.Value,
            FeedForwardSpec feedForward => feedForward.Hidden.Value,
            MixtureOfExpertsSpec moe => moe.Hidden.Value,
            PoolerSpec pooler => pooler.Hidden.Value,
            CrossAttentionSpec cross => cross.Hidden.Value,
            RelativeAttentionSpec relative => relative.Hidden.Value,
            LayerRefSpec reference => Last(reference.LayerType, layers, depth + 1),
            StackSpec stack => Last(stack.LayerType, layers, depth + 1),
            _ => null,
        };

        private static long? First(string type, IReadOnlyDictionary<string, LayerSpec> layers, int depth)
        {
            if (!layers.TryGetValue(type, out var layer))
                return null;
            foreach (var block in layer.Blocks)
            {
                if (Input(block, layers, depth) is { } value)
                    return value;
            }
            return null;
        }

        private static long? Last(string type, IReadOnlyDictionary<string, LayerSpec> layers, int depth)
        {
            if (!layers.TryGetValue(type, out var layer))
                return null;
            for (var i = layer.Blocks.Count - 1; i >= 0; i--)
            {
                if (Output(layer.Blocks[i], layers, depth) is { } value)
                    return value;
            }
            return null;
        }
    }
}
