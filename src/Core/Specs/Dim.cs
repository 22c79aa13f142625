namespace ModelGen.Specs
{
    /// <summary>
    /// One size of a block: the config member it is read from at run time (null for a literal) and
    /// the value that member has in the config's defaults, known at compile time.
    /// </summary>
    /// <param name="Member">Config property name, e.g. <c>Hidden</c>; null when the size is a literal.</param>
    /// <param name="Value">The size the memory model and the analyzers use.</param>
    public readonly record struct Dim(string? Member, long Value)
    {
        /// <summary>A literal size.</summary>
        public static Dim Literal(long value) => new(null, value);

        /// <inheritdoc />
        public override string ToString() => Member is null ? Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{Member} ({Value})";
    }
}
