using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelGen.Fuzz;

/// <summary>
/// Mutations of a source text, each named so a failure says what produced it: token deletions, swaps and duplications, extreme
/// literals, missing nameof targets, class forms (generic, nested, static, record, struct, abstract), duplicated and combined
/// attributes, cycles, out-of-range enum values, non-finite doubles, unicode and keyword identifiers, case-only duplicates.
/// </summary>
internal static class Mutations
{
    private static readonly string[] ExtremeIntegers = { "0", "-1", "1", "2147483647", "-2147483648", "2_000_000_000", "9223372036854775807", "3" };
    private static readonly string[] ExtremeDoubles = { "double.NaN", "double.PositiveInfinity", "double.NegativeInfinity", "1e308", "-0.0", "5e-324" };
    private static readonly string[] Names = { "Blöck", "Слой", "层", "@class", "@int", "_", "__", "Up", "UP", "StoragePrecision", "forward", "Forward", "config", "device" };

    public static readonly (string Name, Func<string, Random, string?> Apply)[] All =
    {
        ("delete-token", DeleteToken),
        ("swap-tokens", SwapTokens),
        ("duplicate-token", DuplicateToken),
        ("extreme-integer", (s, r) => ReplaceLiteral(s, r, SyntaxKind.NumericLiteralToken, ExtremeIntegers)),
        ("extreme-double", (s, r) => ReplaceLiteral(s, r, SyntaxKind.NumericLiteralToken, ExtremeDoubles)),
        ("missing-nameof-target", (s, r) => ReplaceMatch(s, r, @"nameof\((\w+)\.(\w+)\)", m => $"nameof({m.Groups[1].Value}.{m.Groups[2].Value}X)")),
        ("nameof-to-string", (s, r) => ReplaceMatch(s, r, @"nameof\((\w+)\.(\w+)\)", m => $"\"{m.Groups[2].Value}\"")),
        ("class-form", ClassForm),
        ("duplicate-attribute", (s, r) => ReplaceMatch(s, r, @"\[(Linear|Embedding|RmsNorm|LayerNorm|Stack|Sublayer|Attention|FeedForward|Dropout)\(([^\]]*)\)\]", m => m.Value + m.Value)),
        ("both-attributes", (s, r) => ReplaceMatch(s, r, @"\[(Model|Layer)\(typeof\((\w+)\)\)", m => $"[Model(typeof({m.Groups[2].Value})), Layer(typeof({m.Groups[2].Value}))")),
        ("self-cycle", (s, r) => ReplaceMatch(s, r, @"(partial class (\w+)\s*\{)", m => $"{m.Groups[1].Value}\n    [Sublayer] partial {m.Groups[2].Value} Again {{ get; }}")),
        ("enum-out-of-range", (s, r) => ReplaceMatch(s, r, @"\b(DType|ShardStyle|QuantKind|Workload|Optimizer|CheckpointMode|FeedForwardActivation)\.\w+", m => $"({m.Groups[1].Value})({r.Next(-3, 40)})")),
        ("rename-identifier", RenameIdentifier),
        ("case-duplicate-class", (s, r) => DuplicateClass(s, r)),
        ("string-escape", (s, r) => ReplaceMatch(s, r, "\"(\\w+)\"", m => r.Next(3) switch { 0 => "\"a\\\"b\"", 1 => "\"a\\nb\"", _ => "\"a.b\"" })),
        ("extra-attributes", (s, r) => ReplaceMatch(s, r, @"\] partial", m => r.Next(4) switch
        {
            0 => ", Quantize(QuantKind.Int4)] partial",
            1 => ", TiedTo(\"Up\")] partial",
            2 => ", Shard(ShardStyle.Row), Frozen] partial",
            _ => ", StateName(\"x\\u2028y\")] partial",
        })),
        ("budget", (s, r) => ReplaceMatch(s, r, @"\[(Model)\(typeof\((\w+)\)\)\]", m => m.Value + $"\n[VramBudget({ExtremeDoubles[r.Next(ExtremeDoubles.Length)]}, SequenceLength = {ExtremeIntegers[r.Next(ExtremeIntegers.Length)]}, Gpu = \"x\\\"\")]")),
    };

    private static string? DeleteToken(string source, Random random)
    {
        var tokens = Tokens(source);
        if (tokens.Count == 0)
            return null;
        var token = tokens[random.Next(tokens.Count)];
        return source.Remove(token.Span.Start, token.Span.Length);
    }

    private static string? SwapTokens(string source, Random random)
    {
        var tokens = Tokens(source);
        if (tokens.Count < 2)
            return null;
        var i = random.Next(tokens.Count - 1);
        var (a, b) = (tokens[i], tokens[i + 1]);
        return source[..a.Span.Start] + b.Text + source[a.Span.End..b.Span.Start] + a.Text + source[b.Span.End..];
    }

    private static string? DuplicateToken(string source, Random random)
    {
        var tokens = Tokens(source);
        if (tokens.Count == 0)
            return null;
        var token = tokens[random.Next(tokens.Count)];
        return source.Insert(token.Span.End, " " + token.Text);
    }

    private static string? ReplaceLiteral(string source, Random random, SyntaxKind kind, string[] values)
    {
        var literals = Tokens(source).Where(t => t.IsKind(kind)).ToList();
        if (literals.Count == 0)
            return null;
        var token = literals[random.Next(literals.Count)];
        return source.Remove(token.Span.Start, token.Span.Length).Insert(token.Span.Start, values[random.Next(values.Length)]);
    }

    private static string? ClassForm(string source, Random random)
    {
        var forms = new Func<Match, string>[]
        {
            m => $"partial class {m.Groups[1].Value}<T>",
            m => $"partial record {m.Groups[1].Value}",
            m => $"partial struct {m.Groups[1].Value}",
            m => $"static partial class {m.Groups[1].Value}",
            m => $"abstract partial class {m.Groups[1].Value}",
            m => $"sealed partial class {m.Groups[1].Value}",
            m => $"class {m.Groups[1].Value}",
            m => $"partial class Outer {{ public partial class {m.Groups[1].Value}",
            m => $"partial class {m.Groups[1].Value} : System.IDisposable",
        };
        var form = forms[random.Next(forms.Length)];
        var result = ReplaceMatch(source, random, @"partial class (\w+)", form);
        // The nested form opens a brace: close it at the end of the file (a file-scoped namespace has no closing brace of its own).
        return result is not null && result.Contains("partial class Outer {", StringComparison.Ordinal) ? result + "\n}\n" : result;
    }

    private static string? RenameIdentifier(string source, Random random)
    {
        var names = Tokens(source).Where(t => t.IsKind(SyntaxKind.IdentifierToken) && t.Parent is Microsoft.CodeAnalysis.CSharp.Syntax.PropertyDeclarationSyntax or Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax or Microsoft.CodeAnalysis.CSharp.Syntax.ParameterSyntax)
            .Select(t => t.ValueText).Distinct().ToList();
        if (names.Count == 0)
            return null;
        var old = names[random.Next(names.Count)];
        var replacement = Names[random.Next(Names.Length)];
        return Regex.Replace(source, $@"(?<![\w@]){Regex.Escape(old)}(?!\w)", replacement);
    }

    private static string? DuplicateClass(string source, Random random)
    {
        var match = Regex.Match(source, @"(\[(?:Layer|Model)\([^\]]*\)\][^{]*?partial class (\w+)[^{]*\{(?:[^{}]|\{[^{}]*\})*\})", RegexOptions.Singleline);
        if (!match.Success)
            return null;
        var name = match.Groups[2].Value;
        var other = random.Next(2) == 0 ? name.ToUpperInvariant() : name.ToLowerInvariant();
        if (other == name)
            other = name + "_";
        return source + "\n" + match.Groups[1].Value.Replace("partial class " + name, "partial class " + other, StringComparison.Ordinal) + "\n";
    }

    private static string? ReplaceMatch(string source, Random random, string pattern, Func<Match, string> replace)
    {
        var matches = Regex.Matches(source, pattern);
        if (matches.Count == 0)
            return null;
        var match = matches[random.Next(matches.Count)];
        return source[..match.Index] + replace(match) + source[(match.Index + match.Length)..];
    }

    private static List<SyntaxToken> Tokens(string source) =>
        CSharpSyntaxTree.ParseText(source).GetRoot().DescendantTokens().Where(t => !t.IsKind(SyntaxKind.EndOfFileToken)).ToList();
}
