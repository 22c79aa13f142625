namespace ModelGen.Runtime.Tests.Checkpointing;

/// <summary>
/// Tests that compare the global random stream run alone: libtorch's default CPU generator is process-wide, and a test
/// drawing from it in parallel would shift the numbers between the seeded runs being compared.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RandomStreamCollection
{
    public const string Name = "Global random stream";
}
