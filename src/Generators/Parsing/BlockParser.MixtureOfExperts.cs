using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>Reading <c>[MixtureOfExperts]</c>; its values are checked by the layer analyzer (MG0541–MG0544), where the config's defaults are known.</summary>
    internal sealed partial class BlockParser
    {
        private BlockSpec? ReadMixtureOfExperts(AttributeData attribute, string name, string stateName, Location? location)
        {
            var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
            var inner = ReadDim(AttributeReader.Argument(attribute, 1), location);
            var experts = ReadDim(AttributeReader.Argument(attribute, 2), location);
            var topK = Dim.Literal(2);
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == "TopK" && ReadDim(pair.Value, location) is { } read)
                    topK = read;
                else if (pair.Key == "TopK")
                    return null; // reported by ReadDim
            }
            var activation = (FeedForwardActivation)AttributeReader.NamedEnum(attribute, "Activation", (int)FeedForwardActivation.SwiGlu);
            if (!System.Enum.IsDefined(typeof(FeedForwardActivation), activation))
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(location), _property,
                    $"{(int)activation} is not a FeedForwardActivation value"));
                return null;
            }
            return hidden is null || inner is null || experts is null
                ? null
                : new MixtureOfExpertsSpec(name, stateName, hidden.Value, inner.Value, experts.Value, topK, activation, AttributeReader.Named(attribute, "CapacityFactor", 0.0));
        }
    }
}
