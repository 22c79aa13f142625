using System.Runtime.CompilerServices;

// The launcher detection and dtype transport rules are tested directly, without a launcher.
[assembly: InternalsVisibleTo("ModelGen.Distributed.Tests")]
