using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using Xunit;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// The memory model's loops that replaced LINQ over value tuples (fewer methods compiled just in time inside the compiler,
    /// docs/benchmarks-analyzers.md) give what the LINQ expressions they replaced gave, written here as they were.
    /// </summary>
    public class LoopRewriteTests
    {
        private static readonly BlockSpec[] Blocks =
        {
            new LinearSpec("Up", "up", D("Hidden", 1024), D("Ffn", 4096), true),
            new AttentionSpec("Attn", "self_attn", D("Hidden", 4096), D("Heads", 32), D("KvHeads", 8), true, true, 500000, true, false, 0),
            new AttentionSpec("Attn", "attn", D("Hidden", 768), D("Heads", 12), D("Heads", 12), true, false, 10000, false, true, 0.1),
            new FeedForwardSpec("Mlp", "mlp", D("Hidden", 4096), D("Ffn", 14336), FeedForwardActivation.SwiGlu, false),
            new FeedForwardSpec("Mlp", "mlp", D("Hidden", 768), D("Ffn", 3072), FeedForwardActivation.Gelu, true),
            new CrossAttentionSpec("Cross", "cross", D("Hidden", 512), D("Heads", 8), true, true, false, 0),
            new LayerNormSpec("Ln", "ln", D("Hidden", 768), 1e-5, true),
        };

        private static IEnumerable<(string Name, long In, long Out)> Tuples(BlockSpec block) =>
            LoraTerms.Projections(block).Select(p => (p.Name, p.In, p.Out));

        [Fact]
        public void DequantizedWeightAndInputWidthsMatchTheLinqExpressions()
        {
            foreach (var block in Blocks)
            {
                foreach (var d in new[] { 2, 4 })
                    Assert.Equal(Tuples(block).Select(p => p.In * p.Out * d).DefaultIfEmpty(0).Max(), QuantizedProjections.DequantizedWeightBytes(block, d));
                foreach (var name in Tuples(block).Select(p => p.Name).Append("no_such_proj"))
                    Assert.Equal(Tuples(block).Where(p => p.Name == name).Select(p => p.In).DefaultIfEmpty(0).First(), QuantizedProjections.InputWidth(block, name));
            }
        }

        [Fact]
        public void DistinctInputsMatchGroupByInFirstSeenOrder()
        {
            foreach (var block in Blocks)
            {
                var projections = LoraTerms.Projections(block).ToList();
                var expected = projections.Select(p => (Input: QuantizedProjections.InputOf(block, p.Name), Width: QuantizedProjections.InputWidth(block, p.Name)))
                    .GroupBy(i => i.Input).Select(g => g.First()).ToList();
                Assert.Equal(expected, QuantizedProjections.Inputs(block, projections).Select(i => (i.Input, i.Width)).ToList());
            }
        }

        [Fact]
        public void AdaptedProjectionsMatchTheTargetFilter()
        {
            var scopes = new LoraSpec?[]
            {
                null,
                new(8, 16, 0, EquatableArray<string>.Empty),
                new(8, 16, 0, new[] { "q_proj", "v_proj", "down_proj" }.ToEquatableArray()),
                new(8, 16, 0, new[] { "up" }.ToEquatableArray()),
            };
            foreach (var block in Blocks)
            {
                foreach (var lora in scopes)
                {
                    var expected = lora is null
                        ? new List<(string, long, long)>()
                        : Tuples(block).Where(p => lora.Targets.Count == 0 || lora.Targets.Contains(p.Name)).ToList();
                    Assert.Equal(expected, LoraTerms.Adapted(block, lora).Select(p => (p.Name, p.In, p.Out)).ToList());
                }
            }
        }

        [Fact]
        public void LargestLayerTypesMatchOrderByDescendingWithTies()
        {
            var random = new Random(20261130);
            for (var trial = 0; trial < 300; trial++)
            {
                var types = random.Next(1, 40);
                var layers = new List<LayerMemory>();
                for (var i = random.Next(1, 80); i > 0; i--)
                {
                    // Few distinct sizes, so equal scores are common and the name decides.
                    layers.Add(new LayerMemory("P" + i, "T" + random.Next(types), random.Next(1, 4), random.Next(3) * 1000L, random.Next(3) * 7L, 0, Array.Empty<SavedTensor>()));
                }
                var expected = layers.GroupBy(l => l.LayerType)
                    .OrderByDescending(g => g.Sum(l => (double)l.Count * (l.WeightBytes + l.ActivationBytes)))
                    .ThenBy(g => g.Key, StringComparer.Ordinal)
                    .Take(Remedies.LayersTried)
                    .Select(g => g.Key)
                    .ToList();
                Assert.Equal(expected, Remedies.LargestLayerTypes(layers).ToList());
            }
        }
    }
}
