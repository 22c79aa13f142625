using Microsoft.CodeAnalysis;

namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>Pieces shared by the test sources.</summary>
    internal static class Sources
    {
        /// <summary>Prepended to every test source; one line, so markup line numbers shift by one.</summary>
        public const string Usings = "using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;\n";

        /// <summary>
        /// Compiler errors that the generator's output removes: CS9248 (a partial property has no implementation part yet)
        /// and CS0311 when a layer is used as <c>ModuleList&lt;TLayer&gt;</c> before the generator made it a Module.
        /// </summary>
        public static bool IsFilledInByTheGenerator(Diagnostic diagnostic) =>
            diagnostic.Id == "CS9248"
            || (diagnostic.Id == "CS0311" && diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("TorchSharp.torch.nn.Module"));
    }
}
