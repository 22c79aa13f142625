using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ModelGen.Loading
{
    /// <summary>
    /// A checkpoint that does not fit the model: every missing, unexpected, mis-shaped and wrongly typed tensor, named in one
    /// message. Thrown before anything is copied, so the model still holds exactly what it held before the call.
    /// </summary>
    public sealed class WeightMismatchException : Exception
    {
        /// <summary>Creates the exception from the four lists (each entry one line of the message).</summary>
        public WeightMismatchException(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
            IReadOnlyList<string> misshaped, IReadOnlyList<string> wrongDType)
            : base(Format(source, missing, unexpected, misshaped, wrongDType))
        {
            Missing = missing;
            Unexpected = unexpected;
            Misshaped = misshaped;
            WrongDType = wrongDType;
        }

        /// <summary>Model state_dict keys that nothing in the checkpoint fills.</summary>
        public IReadOnlyList<string> Missing { get; }

        /// <summary>Checkpoint tensors (after mapping) that the model has no key for, or that map to a key twice.</summary>
        public IReadOnlyList<string> Unexpected { get; }

        /// <summary>Keys whose checkpoint shape (after mapping) differs from the model's, with both shapes.</summary>
        public IReadOnlyList<string> Misshaped { get; }

        /// <summary>Keys whose stored dtype cannot become the model's (integer ↔ floating, boolean), with both dtypes.</summary>
        public IReadOnlyList<string> WrongDType { get; }

        private static string Format(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
            IReadOnlyList<string> misshaped, IReadOnlyList<string> wrongDType)
        {
            var text = new StringBuilder($"The checkpoint '{source}' does not fit the model; nothing was loaded.");
            void Section(string title, IReadOnlyList<string> lines)
            {
                if (lines.Count == 0) return;
                text.Append('\n').Append(title).Append(" (").Append(lines.Count).Append("):");
                foreach (var line in lines.Take(50))
                    text.Append("\n  ").Append(line);
                if (lines.Count > 50)
                    text.Append("\n  … and ").Append(lines.Count - 50).Append(" more");
            }

            Section("Missing from the checkpoint", missing);
            Section("Unexpected in the checkpoint", unexpected);
            Section("Wrong shape", misshaped);
            Section("Wrong dtype", wrongDType);
            return text.ToString();
        }
    }
}
