using System;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Tests;

/// <summary>
/// ModelGen.Core compiles with checked arithmetic (an overflowing size throws instead of wrapping). The hash codes the compiler
/// writes for its records must still wrap, or a spec in a dictionary or an incremental pipeline would throw at random.
/// </summary>
public class SpecHashTests
{
    [Fact]
    public void Spec_hash_codes_never_throw()
    {
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            string Name() => new string(Enumerable.Range(0, 1 + random.Next(12)).Select(_ => (char)random.Next('A', 'z')).ToArray());
            var block = new LinearSpec(Name(), Name(), new Dim(Name(), random.NextInt64()), Dim.Literal(random.NextInt64()), random.Next(2) == 0)
            {
                Quant = new QuantSpec(QuantKind.Int4, random.Next(), true),
                TiedTo = Name(),
            };
            var layer = new LayerSpec(Name(), Name(), Name(), Name(), Name(), true, EquatableArray.Create<BlockSpec>(block, block with { Name = Name() }), new ForwardSpec(Name(), Name()))
            {
                Budgets = EquatableArray.Create(new ScenarioSpec(random.NextDouble() * 1e9, Workload.Training, random.NextInt64(), random.NextInt64(), Optimizer.AdamW)),
            };
            _ = new ModelSpec(layer, EquatableArray.Create(layer, layer with { Name = Name() })).GetHashCode();
        }
    }
}
