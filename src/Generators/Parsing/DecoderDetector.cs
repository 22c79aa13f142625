using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace ModelGen.Parsing
{
    /// <summary>
    /// Whether a [Model] is a decoder: some layer it contains (through [Sublayer] and [Stack], at any depth) declares a causal
    /// [Attention]. Decoders get the KV-cache members (<c>ICachedLanguageModel</c>, <c>Generate</c>); encoders do not.
    /// </summary>
    internal static class DecoderDetector
    {
        /// <summary>True when <paramref name="model"/> or a layer it contains has an [Attention] whose <c>Causal</c> is not false.</summary>
        public static bool HasCausalAttention(INamedTypeSymbol model)
        {
            var seen = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var work = new Stack<INamedTypeSymbol>();
            work.Push(model);
            while (work.Count > 0)
            {
                var type = work.Pop();
                if (!seen.Add(type))
                    continue; // a cycle is MG-reported elsewhere; here it only must not loop
                foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
                {
                    foreach (var attribute in property.GetAttributes())
                    {
                        if (AttributeReader.Is(attribute, KnownNames.AttentionAttribute) && AttributeReader.Named(attribute, "Causal", true))
                            return true;
                    }
                }
                foreach (var child in LayerGraph.Children(type))
                    work.Push(child);
            }
            return false;
        }
    }
}
