namespace ModelGen.Runtime.Tests.Diagnostics;

/// <summary>Tests that read the process's resident memory run alone: another test's allocations would show in their numbers.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostMemoryCollection
{
    public const string Name = "Host memory";
}
