using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;

namespace ModelGen.Analyzers.Budgets
{
    /// <summary>
    /// One budget diagnostic as data (MG0001–MG0005): the descriptor id, the message arguments and the properties that tools
    /// and the code fix read. The analyzer reports it on the budget's attribute; tests and benchmarks call the evaluator directly.
    /// </summary>
    public sealed class BudgetFinding
    {
        /// <summary>Creates a finding.</summary>
        public BudgetFinding(string id, IReadOnlyList<string> arguments, ImmutableDictionary<string, string?> properties)
        {
            Id = id;
            Arguments = arguments;
            Properties = properties;
        }

        /// <summary>The descriptor id, e.g. <c>MG0001</c>.</summary>
        public string Id { get; }

        /// <summary>The message arguments, already formatted.</summary>
        public IReadOnlyList<string> Arguments { get; }

        /// <summary>Machine-readable detail (see <see cref="BudgetProperties"/>).</summary>
        public ImmutableDictionary<string, string?> Properties { get; }

        /// <summary>The message as the descriptor formats it.</summary>
        public string Message => string.Format(CultureInfo.InvariantCulture,
            ModelGen.Diagnostics.Descriptors.ById(Id).MessageFormat.ToString(CultureInfo.InvariantCulture), Arguments.Cast<object>().ToArray());

        /// <inheritdoc />
        public override string ToString() => Id + ": " + Message;
    }
}
