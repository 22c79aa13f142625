using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    /// <summary>
    /// One problem a spec check found, as data: the descriptor id, where it belongs (a block and one of its attributes,
    /// or the scenario) and the message arguments. The analyzers turn it into a diagnostic at a source location.
    /// Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Id">The descriptor id, e.g. <c>MG0303</c>.</param>
    /// <param name="Block">The block (property) name the problem belongs to; null for a scenario-level finding.</param>
    /// <param name="Attribute">Metadata name of the attribute to point at (e.g. <c>ModelGen.QuantizeAttribute</c>); null for the property itself.</param>
    /// <param name="Arguments">The message arguments, formatted with the invariant culture.</param>
    public sealed record SpecFinding(string Id, string? Block, string? Attribute, EquatableArray<string> Arguments)
    {
        /// <summary>Creates a finding for <paramref name="descriptor"/>.</summary>
        public static SpecFinding Create(DiagnosticDescriptor descriptor, string? block, string? attribute, params object[] arguments) =>
            new(descriptor.Id, block, attribute, arguments.Select(Format).ToEquatableArray());

        /// <summary>The message as the descriptor formats it (for tests and logs).</summary>
        public string Message => string.Format(CultureInfo.InvariantCulture,
            ModelGen.Diagnostics.Descriptors.ById(Id).MessageFormat.ToString(CultureInfo.InvariantCulture), Arguments.Cast<object>().ToArray());

        private static string Format(object argument) => argument switch
        {
            double d => d.ToString("0.###", CultureInfo.InvariantCulture),
            long l => l.ToString(CultureInfo.InvariantCulture),
            int i => i.ToString(CultureInfo.InvariantCulture),
            _ => argument.ToString() ?? "",
        };
    }
}
