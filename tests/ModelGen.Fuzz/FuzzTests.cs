using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Xunit.Abstractions;

namespace ModelGen.Fuzz;

/// <summary>
/// The fuzzing run. CI runs a fixed-seed sample (500 variants); <c>MODELGEN_FUZZ_COUNT=10000</c> runs more, and
/// <c>MODELGEN_FUZZ_SEED</c> picks another sample (docs/fuzzing.md).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int DefaultCount = 500;
    private const int DefaultSeed = 20261130;
    /// <summary>
    /// CPU time per variant (see <see cref="FuzzRunner.Run"/>). The largest seed, a model of 2000 distinct layers, takes about 15 s of
    /// CPU, nearly all of it Roslyn compiling the 4000 classes; the limit leaves room for that, not for a quadratic walk.
    /// </summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public void Every_seed_passes_unmutated()
    {
        var failures = Seeds.All
            .Select(seed => (seed.Name, Outcome: FuzzRunner.Run(seed.Files, Limit)))
            .Where(r => r.Outcome.Kind is not null)
            .Select(r => $"{r.Name}: {r.Outcome.Kind}: {r.Outcome.Detail}")
            .ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Mutated_models_never_crash_hang_or_generate_code_that_does_not_compile()
    {
        var count = Setting("MODELGEN_FUZZ_COUNT", DefaultCount);
        var seed = Setting("MODELGEN_FUZZ_SEED", DefaultSeed);
        var random = new Random(seed);
        var failures = new List<string>();
        var byMutation = new Dictionary<string, int>(StringComparer.Ordinal);
        var slowest = TimeSpan.Zero;
        var slowestName = "";
        var started = DateTime.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var (name, files) = Variant(random);
            var outcome = FuzzRunner.Run(files, Limit);
            foreach (var mutation in name.Split('|')[1].Split('+'))
                byMutation[mutation] = byMutation.GetValueOrDefault(mutation) + 1;
            if (outcome.Cpu > slowest)
                (slowest, slowestName) = (outcome.Cpu, name);
            if (outcome.Kind is not null)
            {
                failures.Add($"#{i} {name}: {outcome.Kind}: {outcome.Detail}");
                Save(i, name, files, outcome);
            }
            if (i % 100 == 99 && Environment.GetEnvironmentVariable("MODELGEN_FUZZ_REPORT") is { Length: > 0 } progress)
                File.WriteAllText(progress, $"{i + 1} of {count} variants (seed {seed}) so far, {(DateTime.UtcNow - started).TotalSeconds:0} s, failures {failures.Count}\n{string.Join("\n", failures)}\n");
        }
        var summary = $"{count} variants (seed {seed}) in {(DateTime.UtcNow - started).TotalSeconds:0} s; slowest {slowest.TotalSeconds:0.0} s of CPU ({slowestName}); load average {File.ReadAllText("/proc/loadavg").Trim()}; "
            + $"failures {failures.Count}; mutations: {string.Join(", ", byMutation.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))}";
        output.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("MODELGEN_FUZZ_REPORT") is { Length: > 0 } report)
            File.WriteAllText(report, summary + "\n" + string.Join("\n", failures) + "\n");
        Assert.True(failures.Count == 0, summary + "\n" + string.Join("\n", failures.Take(20)));
    }

    /// <summary>A seed with one to three mutations, named <c>seed|mutation+mutation</c>.</summary>
    private static (string Name, IReadOnlyList<string> Files) Variant(Random random)
    {
        var seed = Seeds.All[random.Next(Seeds.All.Count)];
        var files = seed.Files.ToArray();
        var applied = new List<string>();
        var mutations = 1 + random.Next(3);
        for (var m = 0; m < mutations; m++)
        {
            var index = random.Next(files.Length);
            var (mutationName, apply) = Mutations.All[random.Next(Mutations.All.Length)];
            if (apply(files[index], random) is { } mutated)
            {
                files[index] = mutated;
                applied.Add(mutationName);
            }
        }
        return ($"{seed.Name}|{(applied.Count == 0 ? "none" : string.Join("+", applied))}", files);
    }

    /// <summary>Keeps a failing variant under fuzz-failures/ (beside the test assembly) to reproduce it.</summary>
    private static void Save(int index, string name, IReadOnlyList<string> files, FuzzOutcome outcome)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "fuzz-failures", index.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "outcome.txt"), $"{name}\n{outcome.Kind}: {outcome.Detail}\n");
        for (var f = 0; f < files.Count; f++)
            File.WriteAllText(Path.Combine(folder, $"User{f}.cs"), files[f]);
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
