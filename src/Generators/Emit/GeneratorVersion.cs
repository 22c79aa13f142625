namespace ModelGen.Generators.Emit
{
    /// <summary>The version stamped into <c>[GeneratedCode]</c>.</summary>
    internal static class GeneratorVersion
    {
        public static readonly string Value = typeof(GeneratorVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
