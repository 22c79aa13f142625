using System.Globalization;

namespace ModelGen.Generators.Emit
{
    /// <summary>C# literals for values in generated code.</summary>
    internal static class Literals
    {
        public static string Bool(bool value) => value ? "true" : "false";

        /// <summary>A double literal that round-trips (<c>1E-05</c>, <c>0.1</c>, <c>10000.0</c>).</summary>
        public static string Number(double value)
        {
            var text = value.ToString("R", CultureInfo.InvariantCulture);
            return text.IndexOfAny(new[] { '.', 'E', 'e' }) >= 0 ? text : text + ".0";
        }
    }
}
