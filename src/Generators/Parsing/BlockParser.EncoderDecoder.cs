using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    // [CrossAttention] and [RelativeAttention] (docs/encoder-decoder.md): read here, checked here (MG0557–MG0559), so a bad size never
    // reaches the runtime constructor's exception.
    internal sealed partial class BlockParser
    {
        private BlockSpec? ReadEncoderDecoder(AttributeData attribute, string name, string stateName, Location? location)
        {
            var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
            var heads = ReadDim(AttributeReader.Argument(attribute, 1), location);
            if (hidden is null || heads is null)
                return null;
            var at = LocationInfo.From(location);
            var kind = attribute.AttributeClass!.Name.Replace("Attribute", "");
            var dropout = AttributeReader.Named(attribute, "Dropout", 0.0);
            var bias = AttributeReader.Named(attribute, "Bias", false);
            string? bad = hidden.Value.Value < 1 || heads.Value.Value < 1 ? $"sizes must be positive, but Hidden = {hidden.Value.Value} and Heads = {heads.Value.Value}"
                : hidden.Value.Value % heads.Value.Value != 0 ? $"Heads = {heads.Value.Value} does not divide Hidden = {hidden.Value.Value} (each head has Hidden / Heads features)"
                : !(dropout >= 0 && dropout < 1) ? $"Dropout = {dropout} must be in [0, 1)"
                : null;
            if (bad is not null)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.EncoderDecoderBadSize, at, _property, kind, bad));
                return null;
            }
            if (attribute.AttributeClass!.ToDisplayString() == KnownNames.CrossAttentionAttribute)
            {
                return new CrossAttentionSpec(name, stateName, hidden.Value, heads.Value,
                    Scaled: AttributeReader.Named(attribute, "Scaled", true),
                    Fused: AttributeReader.Named(attribute, "Fused", true),
                    Bias: bias,
                    DropoutP: dropout);
            }
            var causal = AttributeReader.Named(attribute, "Causal", false);
            var buckets = AttributeReader.Named(attribute, "Buckets", 32);
            var maxDistance = AttributeReader.Named(attribute, "MaxDistance", 128);
            var least = causal ? 2 : 4;
            if (buckets < least)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.RelativeBucketsTooFew, at, _property, buckets, causal ? "one-sided (Causal = true)" : "two-sided (Causal = false)", least));
                return null;
            }
            // Half the buckets of a side are exact offsets (T5); the log-spaced rest spans from there to MaxDistance.
            var exact = (causal ? buckets : buckets / 2) / 2;
            if (maxDistance <= exact)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.RelativeMaxDistanceTooSmall, at, _property, maxDistance, exact, buckets));
                return null;
            }
            return new RelativeAttentionSpec(name, stateName, hidden.Value, heads.Value, causal, buckets, maxDistance,
                Scaled: AttributeReader.Named(attribute, "Scaled", false), Bias: bias, DropoutP: dropout);
        }
    }
}
