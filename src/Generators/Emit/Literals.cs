using System;
using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// C# literals and identifiers for generated code. Every value that comes from the user's source goes through here, so no
    /// name, string, enum value or double can print as something that does not compile.
    /// </summary>
    internal static class Literals
    {
        public static string Bool(bool value) => value ? "true" : "false";

        /// <summary>A double literal that round-trips (<c>1E-05</c>, <c>0.1</c>, <c>10000.0</c>); NaN and infinities by name.</summary>
        public static string Number(double value)
        {
            if (double.IsNaN(value))
                return "double.NaN";
            if (double.IsPositiveInfinity(value))
                return "double.PositiveInfinity";
            if (double.IsNegativeInfinity(value))
                return "double.NegativeInfinity";
            var text = value.ToString("R", CultureInfo.InvariantCulture);
            return text.IndexOfAny(new[] { '.', 'E', 'e' }) >= 0 ? text : text + ".0";
        }

        /// <summary>A long literal (<c>long.MinValue</c> has no literal form: its negation overflows).</summary>
        public static string Long(long value) =>
            value == long.MinValue ? "long.MinValue" : value.ToString(CultureInfo.InvariantCulture) + (value is > int.MaxValue or < int.MinValue ? "L" : "");

        /// <summary>A regular string literal with every character that could end or break it escaped.</summary>
        public static string String(string value)
        {
            var builder = new StringBuilder(value.Length + 2).Append('"');
            foreach (var c in value)
            {
                switch (c)
                {
                    case '"': builder.Append("\\\""); break;
                    case '\\': builder.Append("\\\\"); break;
                    case '\n': builder.Append("\\n"); break;
                    case '\r': builder.Append("\\r"); break;
                    case '\t': builder.Append("\\t"); break;
                    case '\0': builder.Append("\\0"); break;
                    default:
                        // Control characters, line and paragraph separators, surrogate halves: \uXXXX keeps the file one line per statement.
                        if (char.IsControl(c) || c == '\u2028' || c == '\u2029' || c == '\u0085' || char.IsSurrogate(c))
                            builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                        else
                            builder.Append(c);
                        break;
                }
            }
            return builder.Append('"').ToString();
        }

        /// <summary>An identifier as it must be written: <c>@class</c> for a keyword, the name itself otherwise.</summary>
        public static string Identifier(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        /// <summary>A dotted namespace with each part escaped.</summary>
        public static string Namespace(string dotted)
        {
            var parts = dotted.Split('.');
            for (var i = 0; i < parts.Length; i++)
                parts[i] = Identifier(parts[i]);
            return string.Join(".", parts);
        }

        /// <summary>
        /// An enum value of a ModelGen enum: <c>global::ModelGen.DType.BFloat16</c> when defined, else a cast of its number, so an
        /// out-of-range value that slipped past the checks still compiles (and fails loudly at run time, not in the compiler).
        /// </summary>
        public static string Enum(Enum value)
        {
            // Not generic: an instantiation per enum type would be compiled just in time in every compiler process.
            var type = "global::ModelGen." + value.GetType().Name;
            return System.Enum.IsDefined(value.GetType(), value)
                ? type + "." + value
                : $"(({type})({Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)}))";
        }
    }
}
