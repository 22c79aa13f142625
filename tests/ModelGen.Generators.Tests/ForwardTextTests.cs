using System;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using ModelGen.Parsing.ForwardAnalysis;
using ModelGen.Specs;

namespace ModelGen.Generators.Tests;

/// <summary>
/// The forward analysis' text rewrites and size arithmetic, rewritten as loops over arrays so that a compiler process compiles
/// less code just in time (docs/benchmarks-analyzers.md), give what the regular expressions and list operations they replace gave.
/// </summary>
public class ForwardTextTests
{
    // Unicode digits and white space that are not ASCII are the cases where a hand-written loop could part from \d and \s.
    private const string ValueAlphabet = " ()0123456789\u0661\u0966\uFF10aH·x/[],?";
    private const string SpaceAlphabet = " \t\n\r\v\f\u0085\u00A0\u1680\u2000\u2028\u2029\u3000\u200Bab(),";

    [Theory]
    [InlineData("[batch, seq, Hidden (64)]", "[batch, seq, Hidden]")]
    [InlineData("Heads (4)·HeadDim (16) (1)", "Heads·HeadDim")]
    [InlineData("x (12a) ( 3) (3", "x (12a) ( 3) (3")]
    [InlineData(" (7) (8)", "")]
    [InlineData("", "")]
    public void Values_are_dropped_from_shape_text(string text, string expected)
    {
        Assert.Equal(expected, ShapeText.WithoutValues(text));
        Assert.Equal(Regex.Replace(text, @" \(\d+\)", ""), ShapeText.WithoutValues(text));
    }

    [Fact]
    public void Dropping_values_matches_the_regular_expression_on_random_text()
    {
        var random = new Random(20261130);
        for (var i = 0; i < 5000; i++)
        {
            var text = RandomText(random, ValueAlphabet, random.Next(0, 24));
            Assert.Equal(Regex.Replace(text, @" \(\d+\)", ""), ShapeText.WithoutValues(text));
        }
    }

    [Fact]
    public void White_space_runs_match_the_regular_expression_on_random_text()
    {
        Assert.Equal("for (var i = 0; i < n; i++)", ShapeText.OneSpace("for (var i = 0;\r\n     i < n;\t i++)"));
        var random = new Random(11302026);
        for (var i = 0; i < 5000; i++)
        {
            var text = RandomText(random, SpaceAlphabet, random.Next(0, 24));
            Assert.Equal(Regex.Replace(text, @"\s+", " "), ShapeText.OneSpace(text));
        }
    }

    [Fact]
    public void Sizes_above_and_below_the_line_cancel_first_equal_first()
    {
        var hidden = SymbolicDim.Of(new Dim("Hidden", 64));
        var heads = SymbolicDim.Of(new Dim("Heads", 4));

        Check(hidden.Over(heads).Times(heads), 64, new[] { "Hidden" }, Array.Empty<string>());
        Check(heads.Times(heads).Times(hidden).Over(heads), 256, new[] { "Heads", "Hidden" }, Array.Empty<string>());
        Check(hidden.Over(heads).Over(heads), 4, new[] { "Hidden" }, new[] { "Heads", "Heads" });
        Check(hidden.Over(heads).Over(heads).Times(heads), 16, new[] { "Hidden" }, new[] { "Heads" });
        Check(hidden.Times(SymbolicDim.Literal(2)), 128, new[] { "Hidden", "2" }, Array.Empty<string>());
        Assert.False(hidden.Times(SymbolicDim.Unknown).Known);
    }

    private static void Check(SymbolicDim dim, long value, string[] factors, string[] divisors)
    {
        Assert.Equal(value, dim.Value);
        Assert.Equal(factors, dim.Factors.Select(Name).ToArray());
        Assert.Equal(divisors, dim.Divisors.Select(Name).ToArray());
    }

    private static string Name(Dim dim) => dim.Member ?? dim.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string RandomText(Random random, string alphabet, int length)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            text.Append(alphabet[random.Next(alphabet.Length)]);
        return text.ToString();
    }
}
