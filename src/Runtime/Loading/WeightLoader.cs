using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>
    /// Loads pretrained weights (safetensors, sharded or not, and PyTorch state dicts) into a TorchSharp module by state_dict name.
    /// </summary>
    /// <remarks>
    /// Two phases. First every checkpoint tensor is mapped (<see cref="WeightLoadOptions.Mapping"/>) and checked against the model
    /// from headers alone: missing, unexpected, mis-shaped and wrongly typed keys are collected and thrown together in one
    /// <see cref="WeightMismatchException"/> before a single byte is copied, so a model is never left half-loaded. Then the tensors
    /// are read one at a time, each copied into its parameter or buffer (<c>copy_</c> converts the dtype and moves it to the
    /// parameter's device) and released, so the host holds the model plus one checkpoint tensor. A <see cref="QuantizedLinear"/>
    /// in the model takes its float checkpoint weight (<c>prefix.weight</c>, <c>[out, in]</c>) through
    /// <see cref="QuantizedLinear.QuantizeFrom"/>: quantize-on-load, again one tensor at a time. Tied parameters (one tensor under
    /// two names, like GPT-2's head and token embedding) count as present when either name is in the checkpoint.
    /// </remarks>
    public static class WeightLoader
    {
        /// <summary>Opens <paramref name="path"/> (see <see cref="WeightSources.Open"/>) and loads it into <paramref name="module"/>.</summary>
        /// <exception cref="WeightMismatchException">The checkpoint does not fit; nothing was loaded.</exception>
        /// <exception cref="CheckpointFormatException">The file is broken; nothing was loaded.</exception>
        public static WeightLoadReport Load(nn.Module module, string path, WeightLoadOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(path);
            using var source = WeightSources.Open(path);
            options ??= new WeightLoadOptions();
            return Load(module, source, options.ProgressName is null ? options with { ProgressName = path } : options);
        }

        /// <summary>Loads an opened checkpoint into <paramref name="module"/>.</summary>
        /// <exception cref="WeightMismatchException">The checkpoint does not fit; nothing was loaded.</exception>
        public static WeightLoadReport Load(nn.Module module, IWeightSource source, WeightLoadOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(module);
            ArgumentNullException.ThrowIfNull(source);
            options ??= new WeightLoadOptions();

            var targets = ModelTargets.Of(module);
            var plan = Plan(targets, source, options);

            long largest = 0;
            int copied = 0, quantized = 0;
            var groups = plan.GroupBy(p => p.Source.Name).ToList();
            var tracker = options.Progress is { } progress
                ? new LoadingProgressTracker(progress, options.ProgressName ?? "weights", groups.Count, groups.Sum(g => g.First().Source.ByteLength))
                : null;
            using (no_grad())
            {
                foreach (var group in groups)
                {
                    LoadOne(group);
                    tracker?.TensorLoaded(group.First().Source.ByteLength);
                }
            }

            // One checkpoint tensor into every model key it fills (a split fills several).
            void LoadOne(IGrouping<string, Step> group)
            {
                var stored = group.First().Source;
                var only = group.Count() == 1 ? group.First() : null;
                // The common case (same dtype, no transpose or split, a CPU parameter) streams straight into the parameter.
                if (only is { Target.Tensor: { } direct, Mapped.Steps.Length: 0 } && source.TryReadInto(stored.Name, direct))
                {
                    copied++;
                    return;
                }

                largest = Math.Max(largest, stored.ByteLength);
                using var data = source.Read(stored.Name);
                foreach (var step in group)
                {
                    using var value = step.Mapped.Select(data);
                    if (step.Target.Quantized is { } layer)
                    {
                        layer.QuantizeFrom(value);
                        quantized++;
                    }
                    else
                    {
                        step.Target.Tensor!.copy_(value);
                        copied++;
                    }
                }
            }

            var filled = new HashSet<int>(plan.Select(p => p.Target.Group));
            var missing = targets.Values.Where(t => !filled.Contains(t.Group)).Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
            var ignored = UnexpectedNames(targets, source, options).ToList();
            return new WeightLoadReport(copied, quantized, missing, ignored, largest);
        }

        private sealed record Step(CheckpointTensor Source, MappedWeight Mapped, ModelTarget Target);

        private static List<Step> Plan(Dictionary<string, ModelTarget> targets, IWeightSource source, WeightLoadOptions options)
        {
            var steps = new List<Step>();
            var unexpected = new List<string>();
            var misshaped = new List<string>();
            var wrongDType = new List<string>();
            var assigned = new Dictionary<string, string>(StringComparer.Ordinal);

            foreach (var stored in source.Tensors)
            {
                foreach (var mapped in options.Mapping.Map(stored))
                {
                    string from = mapped.Target == stored.Name ? $"'{stored.Name}'" : $"'{stored.Name}' (mapped to '{mapped.Target}'{(mapped.Steps.Length > 0 ? ", " + mapped.Steps : "")})";
                    if (!targets.TryGetValue(mapped.Target, out var target))
                    {
                        if (!options.AllowUnexpected)
                            unexpected.Add($"{from}: the model has no such key");
                        continue;
                    }

                    if (assigned.TryGetValue(mapped.Target, out var earlier))
                    {
                        unexpected.Add($"{from}: '{mapped.Target}' is already filled by '{earlier}'");
                        continue;
                    }

                    assigned[mapped.Target] = stored.Name;
                    bool ok = true;
                    if (!mapped.Shape.AsSpan().SequenceEqual(target.Shape))
                    {
                        misshaped.Add($"{from}: checkpoint {CheckpointTensor.FormatShape(mapped.Shape)}, model {CheckpointTensor.FormatShape(target.Shape)}"
                            + (target.Quantized is not null ? " (a quantized Linear takes its float weight as [out, in])" : ""));
                        ok = false;
                    }

                    if (!DTypeNames.Converts(stored.DType, target.DType))
                    {
                        wrongDType.Add($"{from}: checkpoint {stored.DType}, model {target.DType}"
                            + (target.Quantized is not null ? " (a quantized Linear quantizes a floating-point weight)" : ""));
                        ok = false;
                    }

                    if (ok)
                        steps.Add(new Step(stored, mapped, target));
                }
            }

            var filled = new HashSet<int>(steps.Select(s => s.Target.Group).Concat(assigned.Keys.Select(k => targets[k].Group)));
            var missing = options.AllowMissing
                ? new List<string>()
                : targets.Values.Where(t => !filled.Contains(t.Group))
                    .Select(t => $"'{t.Name}' ({t.DType} {CheckpointTensor.FormatShape(t.Shape)})").OrderBy(n => n, StringComparer.Ordinal).ToList();

            if (missing.Count + unexpected.Count + misshaped.Count + wrongDType.Count > 0)
                throw new WeightMismatchException(source.Description, missing, unexpected, misshaped, wrongDType);
            return steps;
        }

        private static IEnumerable<string> UnexpectedNames(Dictionary<string, ModelTarget> targets, IWeightSource source, WeightLoadOptions options) =>
            source.Tensors.SelectMany(t => options.Mapping.Map(t).Where(m => !targets.ContainsKey(m.Target)).Select(_ => t.Name)).Distinct();
    }
}
