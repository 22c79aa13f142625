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

        /// <summary>The [ParallelPlan] units.</summary>
        public const string Plans = nameof(Plans);
    }
}
