using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Parsing;

namespace ModelGen.Generators.Tests;

/// <summary>
/// The shortcuts that keep parsing cheap (docs/benchmarks-analyzers.md) give the same answers as the slow ways they replace.
/// </summary>
public class ParseCostTests
{
    private const string Types = """
        namespace ModelGen { public class ModelAttribute : System.Attribute { } }
        namespace Other.ModelGen { public class ModelAttribute : System.Attribute { } }
        namespace Gen { public class ModelAttribute : System.Attribute { } }
        namespace Outer { public static class Host { public class Inner { } public class Generic<T> { } } }
        public class Global { }
        public class Holder
        {
            public ModelGen.ModelAttribute? Annotated;
            public ModelGen.ModelAttribute Plain = null!;
            public Outer.Host.Generic<int> Closed = null!;
            public ModelGen.ModelAttribute[] Array = null!;
        }
        """;

    [Fact]
    public void Full_name_matching_agrees_with_the_display_string()
    {
        var compilation = GeneratorHarness.Compile(Types);
        var holder = compilation.GetTypeByMetadataName("Holder")!;
        var types = new ITypeSymbol[]
        {
            compilation.GetTypeByMetadataName("ModelGen.ModelAttribute")!,
            compilation.GetTypeByMetadataName("Other.ModelGen.ModelAttribute")!,
            compilation.GetTypeByMetadataName("Gen.ModelAttribute")!,
            compilation.GetTypeByMetadataName("Outer.Host+Inner")!,
            compilation.GetTypeByMetadataName("Outer.Host+Generic`1")!,
            compilation.GetTypeByMetadataName("Global")!,
        }.Concat(holder.GetMembers().OfType<IFieldSymbol>().Select(f => f.Type)).ToList();
        var names = new[]
        {
            "ModelGen.ModelAttribute", "Other.ModelGen.ModelAttribute", "Gen.ModelAttribute", "odelGen.ModelAttribute", "ModelAttribute",
            "Outer.Host.Inner", "Host.Inner", "Outer.Host.Generic", "Global", ".Global",
            "",
        };
        foreach (var type in types)
        {
            foreach (var name in names)
                Assert.True(type.ToDisplayString() == name == AttributeReader.HasFullName(type, name), $"{type.ToDisplayString()} against '{name}'");
        }
        Assert.Contains(types, t => AttributeReader.HasFullName(t, "Outer.Host.Inner"));
        // Known names are never generic: a generic type never matches (its display string has type arguments).
        Assert.All(types.Where(t => t is INamedTypeSymbol { Arity: > 0 }), t => Assert.False(AttributeReader.HasFullName(t, "Outer.Host.Generic")));
    }

    [Fact]
    public void Config_values_are_shared_by_every_reader_of_one_compilation_and_agree_with_a_fresh_evaluation()
    {
        const string source = """
            public sealed record Cfg
            {
                public int Hidden { get; init; } = 64;
                public int Ffn { get; init; } = 4 * Hidden + Extra;
                public const int Extra = 3;
                public long Huge { get; init; } = long.MaxValue;
                public long Over { get; init; } = 2 * Huge;
                public int A { get; init; } = B + 1;
                public int B { get; init; } = A + 1;
            }
            """;
        var compilation = GeneratorHarness.Compile(source);
        var config = compilation.GetTypeByMetadataName("Cfg")!;
        var first = new ConfigReader(config, compilation, default);
        var members = new[] { "Ffn", "Hidden", "Extra", "Huge", "Over", "A", "B" };
        var values = members.Select(first.Value).ToList();
        Assert.Equal(new long?[] { 259, 64, 3, long.MaxValue, null, null, null }, values);
        Assert.True(first.Overflowed("Over"));

        // A second reader (another layer class) gets the same values and overflow flags, in any order.
        var second = new ConfigReader(config, compilation, default);
        Assert.Equal(values, members.Reverse().Select(second.Value).Reverse().ToList());
        Assert.True(second.Overflowed("Over"));

        // A reader of a new compilation evaluates afresh and agrees.
        var fresh = GeneratorHarness.Compile(source);
        var third = new ConfigReader(fresh.GetTypeByMetadataName("Cfg")!, fresh, default);
        Assert.Equal(values, members.Select(third.Value).ToList());
    }
}
