using System.Runtime.CompilerServices;

// The optimizer tests inspect the per-parameter slots (master copies, main gradients) that the public surface hides.
[assembly: InternalsVisibleTo("ModelGen.Runtime.Tests")]
