using System;
using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The largest trainable parameter tensor a rank holds, in elements: ModelGen's optimizers step one parameter at a time, so
    /// their temporaries are this tensor's, not the model's. Layers are visited once per (layer, precision), so shared and deeply
    /// nested layers cost one visit each.
    /// </summary>
    internal static class LargestTrainableTensor
    {
        /// <summary>
        /// Elements of the largest trainable tensor of <paramref name="model"/> on one of <paramref name="ranks"/> tensor-parallel ranks (0: none);
        /// a layer's own blocks are sized once per analysis when <paramref name="walks"/> is given.
        /// </summary>
        public static long Elements(ModelSpec model, int ranks, WalkMemo? walks = null)
        {
            var layers = new Dictionary<string, LayerSpec>();
            foreach (var layer in model.Layers)
                layers[layer.FullName] = layer;
            // Keyed by text, not by a (name, precision) tuple: a dictionary over a tuple is compiled just in time in every compiler process.
            var memo = new Dictionary<string, long>();
            var visiting = new HashSet<string>();

            long Visit(LayerSpec layer, DType precision)
            {
                var key = layer.FullName + "|" + ((int)precision).ToString(System.Globalization.CultureInfo.InvariantCulture); // '|' is in no type name
                if (memo.TryGetValue(key, out var known))
                    return known;
                if (!visiting.Add(layer.FullName))
                    return 0; // a cycle: ModelWalk reports it with the path
                var own = walks?.LargestOwnTensor(layer, precision, ranks); // the same spec sized before: its blocks cannot throw now
                var largest = 0L;
                var ownLargest = 0L;
                foreach (var block in layer.Blocks)
                {
                    var dtype = block.Precision ?? precision;
                    var child = block switch
                    {
                        LayerRefSpec reference => reference.LayerType,
                        StackSpec stack => stack.LayerType,
                        _ => null,
                    };
                    if (child is not null)
                    {
                        if (layers.TryGetValue(child, out var inner))
                            largest = Math.Max(largest, Visit(inner, inner.Precision ?? dtype));
                        continue;
                    }
                    if (own is not null)
                        continue;
                    foreach (var tensor in BlockParameters.Of(block, dtype, ranks))
                    {
                        if (tensor.Trainable)
                            ownLargest = Math.Max(ownLargest, tensor.RankElements);
                    }
                }
                if (own is null)
                    walks?.KeepLargestOwnTensor(layer, precision, ranks, ownLargest);
                largest = Math.Max(largest, own ?? ownLargest);
                visiting.Remove(layer.FullName);
                memo[key] = largest;
                return largest;
            }

            return Visit(model.Root, model.Root.Precision ?? DType.Float32);
        }
    }
}
