using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>
    /// What test sources compile against, resolved offline: the running shared framework (the test host's trusted platform
    /// assemblies that live beside System.Private.CoreLib), ModelGen.dll (the attributes), ModelGen.Core.dll (the enums) and
    /// TorchSharp.dll. <see cref="ReferenceAssemblies.Net"/> would download reference packs, which the build machines cannot.
    /// </summary>
    internal static class TestReferences
    {
        /// <summary>A reference-assembly set with no packages: nothing to download.</summary>
        public static ReferenceAssemblies None { get; } = new("net10.0");

        /// <summary>Every metadata reference a test source needs.</summary>
        public static IReadOnlyList<MetadataReference> All { get; } = Create();

        private static IReadOnlyList<MetadataReference> Create()
        {
            var frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
            var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
            var framework = trusted.Where(path => Path.GetDirectoryName(path) == frameworkDirectory);
            var modelGen = new[]
            {
                typeof(ModelAttribute).Assembly.Location,
                typeof(DType).Assembly.Location,
                typeof(TorchSharp.torch).Assembly.Location,
            };
            return framework.Concat(modelGen).Distinct().Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)).ToArray();
        }
    }
}
