using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>One key a checkpoint can fill: a parameter or persistent buffer, or the float weight of a quantized Linear.</summary>
    /// <param name="Name">The state_dict key.</param>
    /// <param name="Shape">The shape the checkpoint must supply.</param>
    /// <param name="DType">The model's dtype (float32 stands for "any floating type" for a quantized weight).</param>
    /// <param name="Tensor">The tensor to copy into; null for a quantized weight.</param>
    /// <param name="Quantized">The quantized layer that takes this weight, or null.</param>
    /// <param name="Group">Keys holding the same tensor (tied weights) share a group; one of them filled fills all.</param>
    internal sealed record ModelTarget(string Name, long[] Shape, ScalarType DType, Tensor? Tensor, QuantizedLinear? Quantized, int Group);

    /// <summary>The keys of a module that a checkpoint fills, from its state_dict.</summary>
    internal static class ModelTargets
    {
        public static Dictionary<string, ModelTarget> Of(nn.Module module)
        {
            var result = new Dictionary<string, ModelTarget>(StringComparer.Ordinal);
            var quantizedKeys = new HashSet<string>(StringComparer.Ordinal);
            int groupCount = 0;
            foreach (var (name, child) in module.named_modules())
            {
                if (child is not QuantizedLinear layer)
                    continue;
                string prefix = name.Length == 0 ? "" : name + ".";
                foreach (var buffer in layer.QuantizedBufferNames)
                    quantizedKeys.Add(prefix + buffer);
                result[prefix + "weight"] = new ModelTarget(prefix + "weight", new[] { layer.out_features, layer.in_features }, ScalarType.Float32, null, layer, groupCount++);
            }
            if (module is QuantizedLinear self)
            {
                foreach (var buffer in self.QuantizedBufferNames)
                    quantizedKeys.Add(buffer);
                result["weight"] = new ModelTarget("weight", new[] { self.out_features, self.in_features }, ScalarType.Float32, null, self, groupCount++);
            }

            // Tied keys are one tensor under two names (the generator assigns the same Parameter to both modules).
            var groups = new List<(Tensor Tensor, int Group)>();
            foreach (var (name, tensor) in module.state_dict())
            {
                if (quantizedKeys.Contains(name))
                    continue;
                int index = groups.FindIndex(g => SameTensor(g.Tensor, tensor));
                int group = index >= 0 ? groups[index].Group : groupCount++;
                if (index < 0)
                    groups.Add((tensor, group));
                result[name] = new ModelTarget(name, tensor.shape, tensor.dtype, tensor, null, group);
            }

            return result;
        }

        /// <summary>Whether two state_dict entries are one tensor: the same object, or (on the CPU, where state_dict may hand out
        /// a fresh wrapper per name) the same first element in memory with the same shape and dtype.</summary>
        private static bool SameTensor(Tensor a, Tensor b)
        {
            if (ReferenceEquals(a, b))
                return true;
            if (a.dtype != b.dtype || !a.shape.AsSpan().SequenceEqual(b.shape) || a.numel() == 0
                || a.device_type != DeviceType.CPU || b.device_type != DeviceType.CPU || !a.is_contiguous() || !b.is_contiguous())
                return false;
            using var flatA = a.view(-1);
            using var flatB = b.view(-1);
            using var firstA = flatA.narrow(0, 0, 1);
            using var firstB = flatB.narrow(0, 0, 1);
            return Unsafe.AreSame(ref MemoryMarshal.GetReference(firstA.bytes), ref MemoryMarshal.GetReference(firstB.bytes));
        }
    }
}
