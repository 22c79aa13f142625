namespace ModelGen.Generators
{
    /// <summary>Names of the generator's pipeline steps, for incrementality tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Parsed [Model] classes (unit and diagnostics).</summary>
        public const string Models = nameof(Models);

        /// <summary>Parsed [Layer] classes (unit and diagnostics).</summary>
        public const string Layers = nameof(Layers);

        /// <summary>What to write for each [Model] class.</summary>
        public const string ModelUnits = nameof(ModelUnits);

        /// <summary>What to write for each [Layer] class.</summary>
        public const string LayerUnits = nameof(LayerUnits);

        /// <summary>What to report for each [Model] class.</summary>
        public const string ModelDiagnostics = nameof(ModelDiagnostics);

        /// <summary>What to report for each [Layer] class.</summary>
        public const string LayerDiagnostics = nameof(LayerDiagnostics);

        /// <summary>[Model] diagnostics paired with the compilation they are reported in (re-run on every edit; only reporting).</summary>
        public const string ModelDiagnosticsReported = nameof(ModelDiagnosticsReported);

        /// <summary>[Layer] diagnostics paired with the compilation they are reported in (re-run on every edit; only reporting).</summary>
        public const string LayerDiagnosticsReported = nameof(LayerDiagnosticsReported);

        /// <summary>The [ParallelPlan] units.</summary>
        public const string Plans = nameof(Plans);
    }
}
