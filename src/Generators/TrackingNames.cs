namespace ModelGen.Generators
{
    /// <summary>Names of the generator's pipeline steps, for incrementality tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Specs of [Model] classes.</summary>
        public const string Models = nameof(Models);

        /// <summary>Specs of [Layer] classes.</summary>
        public const string Layers = nameof(Layers);
    }
}
