using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>Builds a <see cref="ModelSpec"/>: the model's spec and the spec of every layer it reaches, each parsed once per compilation (<see cref="ParseCache"/>).</summary>
    public static class ModelSpecBuilder
    {
        /// <summary>
        /// Parses <paramref name="model"/> and every reachable layer. Returns null when any of them cannot be parsed;
        /// <paramref name="diagnostics"/> receives every problem found.
        /// </summary>
        public static ModelSpec? Build(INamedTypeSymbol model, Compilation compilation, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
        {
            GeneratorInput.Map(ref model, ref compilation); // every layer then comes from the same compilation as the model
            var root = ParseCache.Parse(model, compilation, cancellationToken);
            diagnostics.AddRange(root.Diagnostics);
            if (root.Spec is null)
                return null;

            var layers = new List<LayerSpec>();
            var seen = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default) { model };
            var pending = new Queue<INamedTypeSymbol>(root.UsedLayers);
            var complete = true;
            while (pending.Count > 0)
            {
                var type = pending.Dequeue();
                if (!seen.Add(type))
                    continue;
                var parse = ParseCache.Parse(type, compilation, cancellationToken);
                if (parse.Spec is null)
                {
                    complete = false; // the layer's own diagnostics are reported at the layer
                    continue;
                }
                layers.Add(parse.Spec);
                foreach (var used in parse.UsedLayers)
                    pending.Enqueue(used);
            }
            return complete ? new ModelSpec(root.Spec, layers.ToEquatableArray()) : null;
        }
    }
}
