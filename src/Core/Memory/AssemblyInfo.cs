using System.Runtime.CompilerServices;

// The reference tests check the per-op activation list and the model states term by term.
[assembly: InternalsVisibleTo("ModelGen.Core.Tests")]
