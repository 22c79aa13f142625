using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    /// <summary>
    /// Adds LoRA / QLoRA adapters to the Linear and QuantizedLinear layers of an existing module, in place, and works with them as a
    /// set: trainable parameters, merge, merged export, and save/load under PEFT's names (<see cref="Save"/>, <see cref="Load"/>).
    /// </summary>
    /// <remarks>
    /// <para>Why in place: TorchSharp modules (ModelGen's Attention and FeedForward, generated modules) keep their children in readonly
    /// fields and call those fields in <c>forward</c>. Registering a new child under the same name changes the state_dict but not the
    /// field, so the parent would keep calling the old layer: PEFT-style replacement cannot reach them. Instead <see cref="Attach"/>
    /// registers <c>lora_A</c> and <c>lora_B</c> as children of the layer itself and a forward hook on it that adds the adapter's
    /// output. Every parent calls layers through <c>call</c>, which runs the hooks, so the adapter takes part wherever the layer is used.</para>
    /// <para>Names: an adapted layer at path <c>p</c> keeps its own keys (<c>p.weight</c>, or its quantized buffers) and gains
    /// <c>p.lora_A.weight</c> and <c>p.lora_B.weight</c>, so a base checkpoint still loads by its usual names (load it before
    /// attaching, or with <c>strict: false</c>) and the adapter keys are PEFT's without the adapter name.</para>
    /// <para>Device and dtype: TorchSharp's Linear and ModelGen's QuantizedLinear move only their own tensors on <c>.to(…)</c>, not
    /// children registered on them. Attach after the model has its final device and dtype, or call <see cref="MoveAdapters"/> after
    /// <c>.to(…)</c>; a forward whose input is on another device than the adapter says so instead of failing inside libtorch.</para>
    /// </remarks>
    public static partial class LoRA
    {
        private static readonly ConditionalWeakTable<nn.Module, LoraAdapter> AttachedAdapters = new();

        /// <summary>
        /// Freezes <paramref name="layer"/> and gives it an adapter, in place: after this, <c>layer.call(x)</c> returns
        /// <c>base(x) + (alpha/r)·B·A·dropout(x)</c>. The one call generated code needs per adapted projection.
        /// </summary>
        /// <param name="layer">A Linear or QuantizedLinear, e.g. <c>attention.q_proj</c>.</param>
        /// <param name="options">Rank, alpha, dropout, adapter dtype (targets are not used).</param>
        /// <returns>The adapter (A, B, merge/unmerge).</returns>
        /// <exception cref="ArgumentException">Another layer type, a layer that already has an adapter, or invalid options.</exception>
        public static LoraAdapter Attach(nn.Module<Tensor, Tensor> layer, LoraOptions options)
        {
            ArgumentNullException.ThrowIfNull(layer);
            ArgumentNullException.ThrowIfNull(options);
            if (AttachedAdapters.TryGetValue(layer, out _))
                throw new ArgumentException("This layer already has a LoRA adapter; attach one adapter per layer.", nameof(layer));
            var adapter = new LoraAdapter(layer, options);
            layer.register_module("lora_A", adapter.lora_A);
            layer.register_module("lora_B", adapter.lora_B);
            // A merged adapter already sits in the weight; returning the output unchanged skips the adapter path.
            layer.register_forward_hook((module, input, output) =>
            {
                if (adapter.Merged)
                    return output;
                if (!adapter.IsOnDeviceOf(input))
                    throw new InvalidOperationException(
                        $"This layer's LoRA adapter is on {adapter.lora_A.weight!.device} but its input is on {input.device}: call " +
                        "LoRA.MoveAdapters(model) after model.to(…) (Linear and QuantizedLinear do not move children registered on them).");
                return adapter.AddTo(output, input, module.training);
            });
            AttachedAdapters.Add(layer, adapter);
            return adapter;
        }

        /// <summary>
        /// Attaches an adapter to every Linear / QuantizedLinear of <paramref name="model"/> whose path matches the options' targets
        /// (PEFT's <c>target_modules</c>), then freezes every other parameter of the model (PEFT's default, <c>bias = "none"</c>).
        /// </summary>
        /// <returns>The new adapters with their module paths, in module order.</returns>
        /// <exception cref="ArgumentException">Invalid options; no layer matches (the message lists the Linear paths); a target name
        /// that matches a module other than a Linear or QuantizedLinear (a <see cref="LoraOptions.TargetPattern"/> skips those); or a
        /// matched layer that already has an adapter.</exception>
        public static IReadOnlyList<(string Path, LoraAdapter Adapter)> Apply(nn.Module model, LoraOptions options)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();

            var existing = Adapters(model);
            var adapterParts = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
            var adaptedBases = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
            foreach (var (_, a) in existing)
            {
                adapterParts.Add(a.lora_A);
                adapterParts.Add(a.lora_B);
                adaptedBases.Add(a.BaseLayer);
            }

            var targets = new List<(string Path, nn.Module<Tensor, Tensor> Layer)>();
            var linearPaths = new List<string>();
            foreach (var (path, module) in model.named_modules())
            {
                if (adapterParts.Contains(module))
                    continue;
                bool adaptable = module is Linear or QuantizedLinear;
                if (adaptable)
                    linearPaths.Add(path);
                if (!options.IsTarget(path))
                    continue;
                if (module is LoraLinear || adaptedBases.Contains(module))
                    throw new ArgumentException($"'{path}' already has a LoRA adapter; remove it from the targets.", nameof(options));
                // A pattern such as ".*" means "every Linear it reaches"; a name that picks out another kind of module is a mistake.
                if (!adaptable && options.TargetPattern is not null)
                    continue;
                if (!adaptable)
                    throw new ArgumentException($"LoRA target '{path}' is a {module.GetType().Name}; only Linear and QuantizedLinear layers can be adapted.", nameof(options));
                targets.Add((path, (nn.Module<Tensor, Tensor>)module));
            }

            if (targets.Count == 0)
                throw new ArgumentException(
                    $"No Linear or QuantizedLinear layer matches the LoRA targets [{string.Join(", ", options.TargetModules)}]{(options.TargetPattern is null ? "" : $" / '{options.TargetPattern}'")}. " +
                    $"The model's layers are: {string.Join(", ", linearPaths)}.", nameof(options));

            var added = targets.Select(t => (t.Path, Attach(t.Layer, options))).ToList();
            FreezeAllButAdapters(model);
            return added;
        }

        /// <summary>Every adapter in <paramref name="model"/> (attached in place or inside a <see cref="LoraLinear"/>) with its module path.</summary>
        public static IReadOnlyList<(string Path, LoraAdapter Adapter)> Adapters(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            var found = new List<(string, LoraAdapter)>();
            foreach (var (path, module) in Modules(model))
            {
                if (module is LoraLinear wrapper)
                    found.Add((path, wrapper.Adapter));
                else if (AttachedAdapters.TryGetValue(module, out var adapter))
                    found.Add((path, adapter));
            }

            return found;
        }

        /// <summary>
        /// Moves every adapter to its base layer's device and compute dtype (see <see cref="LoraAdapter.AlignWithBase"/>). Call it after
        /// <c>model.to(…)</c> and before creating the optimizer; adapters inside a <see cref="LoraLinear"/> move with it anyway.
        /// </summary>
        public static void MoveAdapters(nn.Module model)
        {
            foreach (var (_, adapter) in Adapters(model))
                adapter.AlignWithBase();
        }

        /// <summary>Sets <c>requires_grad</c> true on every adapter's A and B and false on every other parameter of the model.</summary>
        public static void FreezeAllButAdapters(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            foreach (var p in model.parameters())
                p.requires_grad = false;
            foreach (var (_, adapter) in Adapters(model))
            {
                adapter.lora_A.weight!.requires_grad = true;
                adapter.lora_B.weight!.requires_grad = true;
            }
        }

        /// <summary>The parameters an optimizer should get: those with <c>requires_grad</c> (after <see cref="Apply"/>, the adapters).</summary>
        public static IReadOnlyList<Parameter> TrainableParameters(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            return model.parameters().Where(p => p.requires_grad).ToList();
        }

        /// <summary>Merges every adapter into its Linear base (see <see cref="LoraAdapter.Merge"/>).</summary>
        /// <exception cref="InvalidOperationException">Some base is quantized; then nothing is merged.</exception>
        public static void Merge(nn.Module model)
        {
            var adapters = Adapters(model);
            var quantized = adapters.Where(a => a.Adapter.IsQuantizedBase).Select(a => a.Path).ToList();
            if (quantized.Count > 0)
                throw new InvalidOperationException(
                    $"Cannot merge LoRA into quantized layers ({string.Join(", ", quantized)}): re-quantizing would round the update away. " +
                    "Use LoRA.MergedStateDict(model) for a dense merged export.");
            foreach (var (_, adapter) in adapters)
                adapter.Merge();
        }

        /// <summary>Takes every merged adapter out of its base again.</summary>
        public static void Unmerge(nn.Module model)
        {
            foreach (var (_, adapter) in Adapters(model))
                adapter.Unmerge();
        }

        /// <summary>
        /// The model's state_dict as a plain model without adapters would have it, with every adapted layer's weight merged:
        /// <c>p.weight = W₀ + (alpha/r)·B·A</c> in the layer's compute dtype (dense even when the base is quantized: its quantized
        /// buffers are dropped), <c>lora_A</c>/<c>lora_B</c> keys dropped, and a <see cref="LoraLinear"/>'s <c>base_layer.</c> keys
        /// lifted to its own path. The model is not changed. Merged weights are new tensors the caller owns; the others are the model's.
        /// </summary>
        public static Dictionary<string, Tensor> MergedStateDict(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            var dict = new Dictionary<string, Tensor>(model.state_dict());
            foreach (var (path, adapter) in Adapters(model))
            {
                string prefix = path.Length == 0 ? "" : path + ".";
                dict.Remove(prefix + "lora_A.weight");
                dict.Remove(prefix + "lora_B.weight");
                string basePrefix = prefix;
                if (Find(model, path) is LoraLinear)
                {
                    basePrefix = prefix + "base_layer.";
                    foreach (var key in dict.Keys.Where(k => k.StartsWith(basePrefix, StringComparison.Ordinal)).ToList())
                    {
                        dict[prefix + key[basePrefix.Length..]] = dict[key];
                        dict.Remove(key);
                    }
                }

                if (adapter.BaseLayer is QuantizedLinear q)
                    foreach (var name in q.QuantizedBufferNames)
                        dict.Remove(prefix + name);
                dict[prefix + "weight"] = adapter.MergedWeight();
            }

            return dict;
        }

        private static IEnumerable<(string Path, nn.Module Module)> Modules(nn.Module model) =>
            new[] { (string.Empty, model) }.Concat(model.named_modules());

        private static nn.Module? Find(nn.Module model, string path) =>
            Modules(model).Where(m => m.Path == path).Select(m => m.Module).FirstOrDefault();
    }
}
