using System.Text;

namespace ModelGen.Parsing
{
    /// <summary>Default state_dict names: the property name in snake_case (<c>AttnNorm</c> → <c>attn_norm</c>, <c>LMHead</c> → <c>lm_head</c>).</summary>
    public static class Naming
    {
        /// <summary>Converts PascalCase or camelCase to snake_case, keeping acronyms together.</summary>
        public static string ToSnakeCase(string name)
        {
            var builder = new StringBuilder(name.Length + 4);
            for (var i = 0; i < name.Length; i++)
            {
                var c = name[i];
                if (char.IsUpper(c))
                {
                    var previousIsLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                    var endsAcronym = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                    if ((previousIsLowerOrDigit || endsAcronym) && builder.Length > 0 && builder[builder.Length - 1] != '_')
                        builder.Append('_');
                    builder.Append(char.ToLowerInvariant(c));
                }
                else
                {
                    builder.Append(c);
                }
            }
            return builder.ToString();
        }
    }
}
