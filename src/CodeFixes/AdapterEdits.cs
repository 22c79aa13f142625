using System.Globalization;
using System.Linq;
using ModelGen.Memory;

namespace ModelGen.CodeFixes
{
    /// <summary>The argument list of the <c>[LoRA]</c> a LoRA / QLoRA remedy adds: the remedy's rank, targets and alpha.</summary>
    internal static class AdapterEdits
    {
        /// <summary><c>(16, "q_proj", …, Alpha = 32)</c> from the comma-separated target names the remedy carries.</summary>
        public static string LoraArguments(string targets)
        {
            var names = targets.Split(',').Where(t => t.Length > 0).Select(t => "\"" + t.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"");
            return $"({Remedies.LoraRank.ToString(CultureInfo.InvariantCulture)}, {string.Join(", ", names)}, Alpha = {Remedies.LoraAlpha.ToString(CultureInfo.InvariantCulture)})";
        }
    }
}
