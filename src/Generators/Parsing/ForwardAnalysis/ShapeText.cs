using System.Text;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>
    /// The two text rewrites the forward analysis makes in its messages, as plain loops: a regular expression here cost every
    /// compiler process the construction of the expression and the generic code it runs on, compiled just in time
    /// (docs/benchmarks-analyzers.md). Each gives exactly what <c>Regex.Replace</c> gave with the pattern it names
    /// (<c>\d</c> is a Unicode decimal digit, <see cref="char.IsDigit(char)"/>; <c>\s</c> is <see cref="char.IsWhiteSpace(char)"/>).
    /// </summary>
    internal static class ShapeText
    {
        /// <summary>Drops every " (digits)" — <c>Regex.Replace(text, @" \(\d+\)", "")</c>: <c>Hidden (64)</c> becomes <c>Hidden</c>.</summary>
        public static string WithoutValues(string text)
        {
            if (text.IndexOf(" (", System.StringComparison.Ordinal) < 0)
                return text;
            var result = new StringBuilder(text.Length);
            var i = 0;
            while (i < text.Length)
            {
                var end = ValueEnd(text, i);
                if (end > 0)
                {
                    i = end;
                }
                else
                {
                    result.Append(text[i]);
                    i++;
                }
            }
            return result.ToString();
        }

        /// <summary>Every run of white space as one space — <c>Regex.Replace(text, @"\s+", " ")</c>.</summary>
        public static string OneSpace(string text)
        {
            var result = new StringBuilder(text.Length);
            var i = 0;
            while (i < text.Length)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    while (i < text.Length && char.IsWhiteSpace(text[i]))
                        i++;
                    result.Append(' ');
                }
                else
                {
                    result.Append(text[i]);
                    i++;
                }
            }
            return result.ToString();
        }

        /// <summary>The index just past " (digits)" starting at <paramref name="start"/>, or -1 when none starts there.</summary>
        private static int ValueEnd(string text, int start)
        {
            if (start + 3 >= text.Length || text[start] != ' ' || text[start + 1] != '(' || !char.IsDigit(text[start + 2]))
                return -1;
            var i = start + 3;
            while (i < text.Length && char.IsDigit(text[i]))
                i++;
            return i < text.Length && text[i] == ')' ? i + 1 : -1;
        }
    }
}
