using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>Mixed precision: <c>[Precision(DType.Float32, Compute = …)]</c> on a class (docs/precision.md).</summary>
    public static partial class LayerParser
    {
        /// <summary>
        /// The 16-bit compute dtype the class's <c>[Precision]</c> names with <c>Compute</c>, or null when it computes in its storage
        /// precision (no <c>Compute</c>, or <c>Compute</c> equal to the storage dtype). Reads the attribute only; <see cref="ReadCompute"/> checks it.
        /// </summary>
        internal static DType? ComputeOf(INamedTypeSymbol type)
        {
            if (AttributeReader.Find(type, KnownNames.PrecisionAttribute) is not { } attribute
                || AttributeReader.Argument(attribute, 0).Value is not int storage
                || !attribute.NamedArguments.Any(a => a.Key == "Compute" && a.Value.Value is int))
                return null;
            var compute = (DType)AttributeReader.NamedEnum(attribute, "Compute", storage);
            return compute == (DType)storage ? null : compute;
        }

        /// <summary>
        /// Checks the class's mixed precision against its storage precision, its blocks and its adapters (MG0137, MG0138), and
        /// returns its compute dtype, or null when it computes in its storage precision.
        /// </summary>
        private static DType? ReadCompute(INamedTypeSymbol type, DType? storage, IReadOnlyList<BlockSpec> blocks, bool adapters,
            LocationInfo? location, List<DiagnosticInfo> diagnostics, ref bool failed)
        {
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                if (AttributeReader.Find(property, KnownNames.PrecisionAttribute) is { } onBlock && onBlock.NamedArguments.Any(a => a.Key == "Compute"))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadComputePrecision, LocationInfo.From(AttributeReader.LocationOf(onBlock)) ?? location,
                        type.Name + "." + property.Name, "Compute applies to a layer or model class, whose Linear blocks it runs in 16 bits; on a block, [Precision] sets only its storage dtype"));
                    failed = true;
                }
            }
            if (ComputeOf(type) is not { } compute)
                return null;
            var at = LocationInfo.From(AttributeReader.LocationOf(AttributeReader.Find(type, KnownNames.PrecisionAttribute)!)) ?? location;
            if (!System.Enum.IsDefined(typeof(DType), compute) || compute == DType.Float32)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadComputePrecision, at, type.Name,
                    $"Compute = {compute} is not a 16-bit dtype; mixed precision computes in DType.BFloat16 or DType.Float16"));
                failed = true;
                return null;
            }
            if (storage is not DType.Float32)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadComputePrecision, at, type.Name,
                    $"mixed precision keeps fp32 parameters, but the storage precision is {storage}; write [Precision(DType.Float32, Compute = DType.{compute})], or [Precision(DType.{compute})] alone for 16-bit parameters"));
                failed = true;
                return null;
            }
            foreach (var block in blocks)
            {
                var problem = AutocastForward.Unsupported(block)
                    ?? (block.Lora is not null || (adapters && block is LinearSpec) ? "[LoRA] adapters wrap TorchSharp Linear modules, not AutocastLinear" : null);
                if (problem is null)
                    continue;
                var property = type.GetMembers(block.Name).FirstOrDefault();
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BlockNotAutocast, LocationInfo.From(property?.Locations.FirstOrDefault()) ?? at,
                    block.Name, type.Name, "DType." + compute, problem));
                failed = true;
            }
            return compute;
        }
    }
}
