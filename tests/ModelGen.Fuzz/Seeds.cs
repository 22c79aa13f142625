using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelGen.Fuzz;

/// <summary>A source set to mutate: one or more files of one consumer compilation.</summary>
internal sealed record Seed(string Name, IReadOnlyList<string> Files);

/// <summary>
/// The seeds: every clean deliberate mistake, the Llama and GPT-2 samples, and synthetic graphs of layers (deep chains, diamonds,
/// thousands of distinct layers) that stress the parser's graph walk and the memory model.
/// </summary>
internal static class Seeds
{
    public const string Usings = "using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;\n";

    public static IReadOnlyList<Seed> All { get; } = Load();

    private static IReadOnlyList<Seed> Load()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Seeds");
        var seeds = new List<Seed>();
        foreach (var file in Directory.GetFiles(Path.Combine(folder, "Mistakes"), "*.cs").OrderBy(f => f, StringComparer.Ordinal))
            seeds.Add(new Seed("Mistakes/" + Path.GetFileName(file), new[] { File.ReadAllText(file) }));
        foreach (var sample in new[] { "Llama", "Gpt2" })
        {
            var files = Directory.GetFiles(Path.Combine(folder, sample), "*.cs").OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllText).ToList();
            seeds.Add(new Seed(sample, files));
        }
        seeds.Add(new Seed("Chain300", new[] { Chain(300) }));
        seeds.Add(new Seed("Diamond40", new[] { Diamond(40) }));
        seeds.Add(new Seed("Distinct2000", new[] { Distinct(2000) }));
        return seeds;
    }

    private const string Config = "public sealed record Cfg { public int Hidden { get; init; } = 64; public int Layers { get; init; } = 2; }\n";

    private static string Layer(string name, string body) =>
        $"[Layer(typeof(Cfg))]\npublic partial class {name}\n{{\n{body}    Tensor Forward(Tensor x) => x;\n}}\n";

    /// <summary>L0 uses L1 uses … L(n-1): a deep chain of sublayers under a model.</summary>
    internal static string Chain(int depth)
    {
        var text = new StringBuilder(Usings).Append("namespace Fuzz.Chain;\n").Append(Config);
        text.Append("[Model(typeof(Cfg)), VramBudget(24)]\npublic partial class Net\n{\n    [Sublayer] partial L0 Inner { get; }\n    Tensor Forward(Tensor x) => x;\n}\n");
        for (var i = 0; i < depth; i++)
        {
            var next = i + 1 < depth ? $"    [Sublayer] partial L{i + 1} Next {{ get; }}\n" : "";
            text.Append(Layer($"L{i}", $"    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up {{ get; }}\n{next}"));
        }
        return text.ToString();
    }

    /// <summary>Each level uses the next twice: 2^levels paths through <paramref name="levels"/> distinct layers.</summary>
    private static string Diamond(int levels)
    {
        var text = new StringBuilder(Usings).Append("namespace Fuzz.Diamond;\n").Append(Config);
        text.Append("[Model(typeof(Cfg)), VramBudget(24)]\npublic partial class Net\n{\n    [Stack(2)] partial ModuleList<D0> Blocks { get; }\n    Tensor Forward(Tensor x) => x;\n}\n");
        for (var i = 0; i < levels; i++)
        {
            var next = i + 1 < levels ? $"    [Sublayer] partial D{i + 1} A {{ get; }}\n    [Sublayer] partial D{i + 1} B {{ get; }}\n" : "    [Linear(4, 4)] partial Linear Up { get; }\n";
            text.Append(Layer($"D{i}", next));
        }
        return text.ToString();
    }

    /// <summary>A model using <paramref name="count"/> distinct layers, each once.</summary>
    internal static string Distinct(int count)
    {
        var text = new StringBuilder(Usings).Append("namespace Fuzz.Distinct;\n").Append(Config);
        text.Append("[Model(typeof(Cfg)), VramBudget(24)]\npublic partial class Net\n{\n");
        for (var i = 0; i < count; i++)
            text.Append($"    [Sublayer] partial X{i} B{i} {{ get; }}\n");
        text.Append("    Tensor Forward(Tensor x) => x;\n}\n");
        for (var i = 0; i < count; i++)
            text.Append(Layer($"X{i}", "    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }\n"));
        return text.ToString();
    }
}
