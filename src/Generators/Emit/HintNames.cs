using System.Globalization;
using System.Text;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// Hint names (generated file names) that are unique by construction. Roslyn compares hint names ignoring case, and two
    /// classes may differ only in case (<c>Block</c>, <c>BLOCK</c>), in namespace, in containing type or in arity.
    /// </summary>
    public static class HintNames
    {
        /// <summary>
        /// <c>{name}.{case}.g.cs</c>: <c>name</c> is the full metadata name (namespace, containing types joined by <c>+</c>, arity
        /// after a backquote) with every character outside <c>[A-Za-z0-9.]</c> written as <c>_XXXX</c> (<c>_</c> itself too), so
        /// the escaping is reversible; <c>case</c> is a hexadecimal mask of the upper-case letters of <c>name</c>, one digit per four
        /// characters. Two distinct metadata names give names of distinct length or distinct text ignoring case, so they never collide.
        /// </summary>
        public static string For(string metadataName)
        {
            var escaped = new StringBuilder(metadataName.Length + 8);
            foreach (var c in metadataName)
            {
                if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.')
                    escaped.Append(c);
                else
                    escaped.Append('_').Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            var name = escaped.ToString();
            var digits = (name.Length + 3) / 4;
            var mask = new StringBuilder(digits);
            for (var d = 0; d < digits; d++)
            {
                var nibble = 0;
                for (var bit = 0; bit < 4; bit++)
                {
                    var i = (d * 4) + bit;
                    if (i < name.Length && name[i] is >= 'A' and <= 'Z')
                        nibble |= 1 << (3 - bit);
                }
                mask.Append(nibble.ToString("X", CultureInfo.InvariantCulture));
            }
            return name + "." + mask + ".g.cs";
        }
    }
}
