using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>Element types as safetensors and PyTorch name them, and their sizes.</summary>
    internal static class DTypeNames
    {
        // The safetensors dtype strings (the format's specification, "dtype" field) that TorchSharp 0.107 can hold.
        private static readonly Dictionary<string, ScalarType> Safetensors = new(StringComparer.Ordinal)
        {
            ["F64"] = ScalarType.Float64,
            ["F32"] = ScalarType.Float32,
            ["F16"] = ScalarType.Float16,
            ["BF16"] = ScalarType.BFloat16,
            ["I64"] = ScalarType.Int64,
            ["I32"] = ScalarType.Int32,
            ["I16"] = ScalarType.Int16,
            ["I8"] = ScalarType.Int8,
            ["U8"] = ScalarType.Byte,
            ["BOOL"] = ScalarType.Bool,
        };

        // torch.save names a tensor's element type by its legacy storage class (torch.FloatStorage, …).
        private static readonly Dictionary<string, ScalarType> TorchStorages = new(StringComparer.Ordinal)
        {
            ["DoubleStorage"] = ScalarType.Float64,
            ["FloatStorage"] = ScalarType.Float32,
            ["HalfStorage"] = ScalarType.Float16,
            ["BFloat16Storage"] = ScalarType.BFloat16,
            ["LongStorage"] = ScalarType.Int64,
            ["IntStorage"] = ScalarType.Int32,
            ["ShortStorage"] = ScalarType.Int16,
            ["CharStorage"] = ScalarType.Int8,
            ["ByteStorage"] = ScalarType.Byte,
            ["BoolStorage"] = ScalarType.Bool,
        };

        /// <summary>The safetensors dtype string's element type, or false when TorchSharp has none for it (e.g. F8_E4M3).</summary>
        public static bool TryFromSafetensors(string name, out ScalarType dtype) => Safetensors.TryGetValue(name, out dtype);

        /// <summary>The safetensors dtype string of an element type.</summary>
        public static string ToSafetensors(ScalarType dtype)
        {
            foreach (var (name, type) in Safetensors)
                if (type == dtype)
                    return name;
            throw new ArgumentException($"safetensors has no dtype for {dtype}.", nameof(dtype));
        }

        /// <summary>The element type of a torch storage class name, or false when it is not one this reader knows.</summary>
        public static bool TryFromTorchStorage(string name, out ScalarType dtype) => TorchStorages.TryGetValue(name, out dtype);

        /// <summary>Bytes per element.</summary>
        public static long ElementSize(ScalarType dtype) => dtype switch
        {
            ScalarType.Float64 or ScalarType.Int64 => 8,
            ScalarType.Float32 or ScalarType.Int32 => 4,
            ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
            ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
            _ => throw new ArgumentException($"No element size known for {dtype}.", nameof(dtype)),
        };

        /// <summary>Whether a tensor stored as <paramref name="stored"/> may be copied into one of <paramref name="target"/>:
        /// floating to floating (a dtype conversion), otherwise only the same type (an integer or boolean tensor never becomes
        /// a float one, or the reverse: that is a wrong tensor, not a conversion).</summary>
        public static bool Converts(ScalarType stored, ScalarType target) =>
            stored == target || (is_floating_point(stored) && is_floating_point(target));

        /// <summary>Whether the type is a floating-point one.</summary>
        public static bool IsFloating(ScalarType t) => is_floating_point(t);

        private static bool is_floating_point(ScalarType t) =>
            t is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;
    }
}
