using ModelGen.Generators.Emit;

namespace ModelGen.Generators.Tests;

public class LiteralTests
{
    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("a\"b", "\"a\\\"b\"")]
    [InlineData("a\\b", "\"a\\\\b\"")]
    [InlineData("a\nb\r", "\"a\\nb\\r\"")]
    [InlineData("a\u2028b", "\"a\\u2028b\"")]
    [InlineData("\0", "\"\\0\"")]
    public void Strings_are_escaped(string value, string literal) => Assert.Equal(literal, Literals.String(value));

    [Theory]
    [InlineData(double.NaN, "double.NaN")]
    [InlineData(double.PositiveInfinity, "double.PositiveInfinity")]
    [InlineData(double.NegativeInfinity, "double.NegativeInfinity")]
    [InlineData(10000.0, "10000.0")]
    [InlineData(1e-5, "1E-05")]
    public void Doubles_print_as_code(double value, string literal) => Assert.Equal(literal, Literals.Number(value));

    [Fact]
    public void Keywords_get_an_at_sign_and_undefined_enum_values_a_cast()
    {
        Assert.Equal("@class", Literals.Identifier("class"));
        Assert.Equal("value", Literals.Identifier("value"));
        Assert.Equal("@class.Demo", Literals.Namespace("class.Demo"));
        Assert.Equal("global::ModelGen.DType.BFloat16", Literals.Enum(DType.BFloat16));
        Assert.Equal("((global::ModelGen.DType)(7))", Literals.Enum((DType)7));
        Assert.Equal("long.MinValue", Literals.Long(long.MinValue));
        Assert.Equal("4000000000L", Literals.Long(4_000_000_000));
    }
}
