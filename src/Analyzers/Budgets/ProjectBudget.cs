using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ModelGen.Analyzers.Budgets
{
    /// <summary>
    /// The budget a project sets outside the code: the MSBuild properties <c>ModelGenBudgetGpu</c> and <c>ModelGenBudgetGigabytes</c>
    /// (made visible by build/ModelGen.props) and the .editorconfig keys <c>modelgen_budget_gpu</c> and <c>modelgen_budget_gigabytes</c>.
    /// An .editorconfig key for the model's file wins over the MSBuild property. Equality contract: value equality.
    /// </summary>
    /// <param name="Gpu">A catalog GPU that replaces the card of every budget; null when not set.</param>
    /// <param name="Gigabytes">GB for budgets that give no size (or, with <paramref name="Gpu"/>, the memory to use on it); null when not set.</param>
    /// <param name="Problem">Why a value could not be read (e.g. a non-numeric gigabytes value); null when fine.</param>
    public sealed record ProjectBudget(string? Gpu, double? Gigabytes, string? Problem = null)
    {
        /// <summary>MSBuild property naming the GPU.</summary>
        public const string GpuProperty = "build_property.ModelGenBudgetGpu";

        /// <summary>MSBuild property giving GB.</summary>
        public const string GigabytesProperty = "build_property.ModelGenBudgetGigabytes";

        /// <summary>.editorconfig key naming the GPU.</summary>
        public const string GpuKey = "modelgen_budget_gpu";

        /// <summary>.editorconfig key giving GB.</summary>
        public const string GigabytesKey = "modelgen_budget_gigabytes";

        /// <summary>No project-level budget.</summary>
        public static ProjectBudget None { get; } = new(null, null);

        /// <summary>Reads the project budget that applies to <paramref name="tree"/>.</summary>
        public static ProjectBudget Read(AnalyzerConfigOptionsProvider options, SyntaxTree? tree)
        {
            var fileOptions = tree is null ? null : options.GetOptions(tree);
            var gpu = Value(fileOptions, GpuKey) ?? Value(options.GlobalOptions, GpuProperty);
            var gigabytesText = Value(fileOptions, GigabytesKey) ?? Value(options.GlobalOptions, GigabytesProperty);
            if (gigabytesText is null)
                return new ProjectBudget(gpu, null);
            if (double.TryParse(gigabytesText, NumberStyles.Float, CultureInfo.InvariantCulture, out var gigabytes) && gigabytes > 0)
                return new ProjectBudget(gpu, gigabytes);
            return new ProjectBudget(gpu, null, $"the project's budget of '{gigabytesText}' GB is not a positive number");
        }

        private static string? Value(AnalyzerConfigOptions? options, string key) =>
            options is not null && options.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
    }
}
