using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Specs;

namespace ModelGen.Diagnostics
{
    /// <summary>
    /// A diagnostic as data: descriptor id, message arguments and location. Kept apart from the specs the emitter consumes,
    /// so a changed diagnostic never regenerates code. Equality contract: value equality over all members.
    /// </summary>
    /// <param name="Id">The descriptor id, e.g. <c>MG0101</c>.</param>
    /// <param name="Location">Where to report it; null for the compilation.</param>
    /// <param name="Arguments">The message format arguments, already formatted as strings.</param>
    public sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
    {
        /// <summary>Creates a diagnostic info from a descriptor and arguments.</summary>
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params object?[] arguments) =>
            new(descriptor.Id, location, arguments.Select(a => a?.ToString() ?? "").ToEquatableArray());

        /// <summary>Turns the info back into a Roslyn diagnostic.</summary>
        public Diagnostic ToDiagnostic(Compilation? compilation) =>
            Diagnostic.Create(
                Descriptors.ById(Id),
                Location?.ToLocation(compilation) ?? Microsoft.CodeAnalysis.Location.None,
                Arguments.Cast<object>().ToArray());
    }
}
