using System;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>Rejects scenarios and sizes the model cannot give a meaningful answer for, with a message naming the value.</summary>
    internal static class SpecChecks
    {
        public static void Check(ModelSpec model, ScenarioSpec scenario)
        {
            if (scenario.SequenceLength < 1)
                throw new ArgumentException($"The sequence length must be at least 1, got {scenario.SequenceLength}.", nameof(scenario));
            if (scenario.Batch < 1)
                throw new ArgumentException($"The batch must be at least 1, got {scenario.Batch}.", nameof(scenario));
            if (scenario.TensorParallel < 1 || scenario.DataParallel < 1)
                throw new ArgumentException($"Tensor- and data-parallel rank counts must be at least 1, got {scenario.TensorParallel} and {scenario.DataParallel}.", nameof(scenario));
            if (scenario.ZeroStage is < 0 or > 3)
                throw new ArgumentException($"The ZeRO stage must be 0, 1, 2 or 3, got {scenario.ZeroStage}.", nameof(scenario));
            Check(model.Root);
            foreach (var layer in model.Layers)
                Check(layer);
            if (PositionCap.Find(model) is { } cap && scenario.SequenceLength > cap.Positions)
                throw new ArgumentException(PositionCap.Describe(model.Root.Name, scenario.SequenceLength, cap), nameof(scenario));
        }

        private static void Check(LayerSpec layer)
        {
            foreach (var block in layer.Blocks)
            {
                switch (block)
                {
                    case LinearSpec l: Positive(layer, block, l.In, l.Out); break;
                    case EmbeddingSpec e: Positive(layer, block, e.Count, e.Width); break;
                    case LayerNormSpec n: Positive(layer, block, n.Hidden); break;
                    case RmsNormSpec n: Positive(layer, block, n.Hidden); break;
                    case FeedForwardSpec f: Positive(layer, block, f.Hidden, f.Inner); break;
                    case PoolerSpec p: Positive(layer, block, p.Hidden); break;
                    case MixtureOfExpertsSpec m:
                        Positive(layer, block, m.Hidden, m.Inner, m.Experts, m.TopK);
                        if (m.TopK.Value > m.Experts.Value || !(m.CapacityFactor >= 0) || double.IsInfinity(m.CapacityFactor))
                            throw new ArgumentException($"{layer.Name}.{block.Name}: top-k = {m.TopK} must not exceed the experts = {m.Experts}, and the capacity factor ({m.CapacityFactor.ToString(System.Globalization.CultureInfo.InvariantCulture)}) must be 0 (dropless) or positive and finite.");
                        break;
                    case CrossAttentionSpec c: EncoderDecoderTerms.Check(layer.Name, c.Name, c.Hidden, c.Heads); break;
                    case RelativeAttentionSpec r: EncoderDecoderTerms.Check(layer.Name, r.Name, r.Hidden, r.Heads); break;
                    case AttentionSpec a:
                        Positive(layer, block, a.Hidden, a.Heads, a.KvHeads);
                        if (a.Hidden.Value % a.Heads.Value != 0 || a.Heads.Value % a.KvHeads.Value != 0)
                            throw new ArgumentException($"{layer.Name}.{block.Name}: heads ({a.Heads}) must divide hidden ({a.Hidden}) and kv heads ({a.KvHeads}) must divide heads.");
                        break;
                }
            }
        }

        private static void Positive(LayerSpec layer, BlockSpec block, params Dim[] dims)
        {
            foreach (var dim in dims)
            {
                if (dim.Value <= 0)
                    throw new ArgumentException($"{layer.Name}.{block.Name}: every size must be positive, got {dim}.");
            }
        }
    }
}
