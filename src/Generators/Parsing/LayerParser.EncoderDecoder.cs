using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    public static partial class LayerParser
    {
        /// <summary>
        /// MG0556: a [CrossAttention] block reads an encoder output that must come from outside the layer, so the layer's Forward must take
        /// it as a second tensor input (docs/encoder-decoder.md). A Forward of one tensor has nothing to pass as the memory.
        /// </summary>
        private static void CheckCrossAttentionInputs(INamedTypeSymbol type, List<BlockSpec> blocks, ForwardSpec? forward,
            Dictionary<string, LocationInfo?> locations, List<DiagnosticInfo> diagnostics)
        {
            if (forward is null)
                return;
            var tensorInputs = forward.Inputs.Count == 0 ? 1 : forward.Inputs.Count;
            if (tensorInputs > 1)
                return;
            foreach (var cross in blocks.OfType<CrossAttentionSpec>())
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.CrossAttentionWithoutMemory,
                    locations.TryGetValue(cross.Name, out var at) ? at : null, type.Name, cross.Name, forward.MethodName));
            }
        }
    }
}
