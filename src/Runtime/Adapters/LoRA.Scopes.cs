using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    public static partial class LoRA
    {
        private static readonly ConditionalWeakTable<nn.Module, LoraOptions> Scopes = new();

        /// <summary>
        /// The adapters of one <c>[LoRA]</c> scope, as generated code applies them: attaches an adapter to every matching Linear /
        /// QuantizedLinear of <paramref name="layer"/> except those inside a sublayer or block that is a scope of its own, or already adapted by a block's own [LoRA] (the nearest
        /// <c>[LoRA]</c> wins, and sublayers are built first), then freezes every parameter of <paramref name="layer"/> but the adapters.
        /// </summary>
        /// <param name="layer">The module carrying <c>[LoRA]</c>, after its children are built and registered.</param>
        /// <param name="options">The attribute's rank, alpha, dropout and targets.</param>
        /// <returns>The new adapters with their paths relative to <paramref name="layer"/>.</returns>
        /// <exception cref="ArgumentException">Invalid options, the layer is already a scope, or no layer of this scope matches
        /// (the message lists the scope's Linear paths).</exception>
        /// <exception cref="NotSupportedException">A target is a tensor-parallel projection (no adapter form yet; MG0213).</exception>
        public static IReadOnlyList<(string Path, LoraAdapter Adapter)> ApplyScope(nn.Module layer, LoraOptions options)
        {
            ArgumentNullException.ThrowIfNull(layer);
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();
            if (Scopes.TryGetValue(layer, out _))
                throw new ArgumentException("This module already carries a LoRA scope; apply each [LoRA] once.", nameof(layer));

            var inner = new List<string>();
            var targets = new List<(string Path, nn.Module<Tensor, Tensor> Layer)>();
            var linearPaths = new List<string>();
            var takenByNearer = 0;
            foreach (var (path, module) in layer.named_modules())
            {
                if (path.Length == 0 || inner.Any(p => path.StartsWith(p + ".", StringComparison.Ordinal)))
                    continue;
                if (Scopes.TryGetValue(module, out _))
                {
                    inner.Add(path); // a nearer [LoRA]: its layers are its own
                    continue;
                }
                if (module is Parallel.ITensorParallelModule && options.IsTarget(path))
                    throw new NotSupportedException(
                        $"[LoRA] target '{path}' is a tensor-parallel slice ({module.GetType().Name}): LoRA adapters attach only to whole Linear or " +
                        "QuantizedLinear layers. Train the adapters at TensorParallel = 1, or leave the sharded projections out of the targets " +
                        "(MG0213 reports this at compile time).");
                if (module is not (Linear or QuantizedLinear))
                    continue;
                if (path.EndsWith(".lora_A", StringComparison.Ordinal) || path.EndsWith(".lora_B", StringComparison.Ordinal))
                    continue;
                linearPaths.Add(path);
                if (!options.IsTarget(path))
                    continue;
                if (AttachedAdapters.TryGetValue(module, out _))
                    takenByNearer++; // [LoRA] on the block's own property: the nearer scope already adapted it
                else
                    targets.Add((path, (nn.Module<Tensor, Tensor>)module));
            }
            if (targets.Count == 0 && takenByNearer == 0)
                throw new ArgumentException(
                    $"No Linear or QuantizedLinear layer of this [LoRA] scope matches its targets [{string.Join(", ", options.TargetModules)}]{(options.TargetPattern is null ? "" : $" / '{options.TargetPattern}'")}. " +
                    $"The scope's layers are: {string.Join(", ", linearPaths)}.", nameof(options));

            var added = targets.Select(t => (t.Path, Attach(t.Layer, options))).ToList();
            Scopes.Add(layer, options);
            FreezeAllButAdapters(layer);
            return added;
        }
    }
}
