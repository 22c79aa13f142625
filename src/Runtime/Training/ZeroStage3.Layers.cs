using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    public sealed partial class ZeroStage3
    {
        private const string CheckpointProperty = "CheckpointActivations";
        private readonly List<nn.Module> _checkpointedBefore = [];
        private readonly HashSet<nn.Module> _called = new(ReferenceEqualityComparer.Instance);

        /// <summary>
        /// Explains a failed forward when some layers never ran through <see cref="Forward(nn.Module{Tensor, Tensor}, Tensor)"/>: such a layer computes with its empty
        /// parameters (its forward does not call the <see cref="ZeroRouting"/> hook). Null when every layer did.
        /// </summary>
        internal string? ExplainUnroutedLayers()
        {
            var missing = _layers.Keys.Where(l => !_called.Contains(l)).Select(l => $"{l.GetName()} ({l.GetType().Name})").Distinct().ToList();
            return missing.Count == 0 ? null
                : $"Under ZeRO stage 3 the layers {string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", …" : "")} never ran through ZeroStage3.Forward, " +
                  "so they computed with empty parameters. A generated [Layer] routes itself; a hand-written layer must be called through ZeroStage3.Forward.";
        }

        /// <summary>
        /// The repeated layers of <paramref name="model"/>: the elements of each <c>ModuleList</c> in its module tree (a generated
        /// model's <c>[Stack]</c>), outermost first, not looking inside them, whatever their forward takes and returns. These are
        /// the units <see cref="PlanTraining"/> gathers one at a time under ZeRO stage 3; everything else is gathered for the whole
        /// step. A generated layer routes itself through the engine; a hand-written one must call <see cref="Forward(nn.Module{Tensor, Tensor}, Tensor)"/>
        /// or <see cref="Forward{TResult}"/>.
        /// </summary>
        /// <param name="model">The model.</param>
        public static IReadOnlyList<nn.Module> RepeatedLayers(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            var found = new List<nn.Module>();
            Collect(model, found);
            return found;
        }

        private static void Collect(nn.Module module, List<nn.Module> found)
        {
            foreach (var (_, child) in module.named_children()) {
                var type = child.GetType();
                if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(TorchSharp.Modules.ModuleList<>)) {
                    foreach (var (_, element) in child.named_children())
                        found.Add(element);
                } else {
                    Collect(child, found);
                }
            }
        }

        /// <summary>
        /// Copies whole values (a plain model's <c>state_dict</c>, by parameter name) into this rank's partitions, e.g. to start from
        /// a checkpoint or from another model's initial weights. Names the state lacks keep their values; buffers are not touched.
        /// Call it before the optimizer is built when the parameters are 16-bit: an optimizer's fp32 master copy is taken then.
        /// </summary>
        /// <param name="state">Whole tensors by the model's parameter names.</param>
        /// <exception cref="ArgumentException">A tensor's element count differs from the parameter's.</exception>
        public void LoadParameters(IReadOnlyDictionary<string, Tensor> state)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(state);
            using var _ = no_grad();
            var slices = _layers.Values.SelectMany(l => l.Slices(p => _names[p])).Concat(_rest.Slices(p => _names[p]));
            foreach (var slice in slices) {
                if (!state.TryGetValue(slice.Name, out var whole))
                    continue;
                var count = slice.Shape.Aggregate(1L, (a, b) => a * b);
                if (whole.numel() != count)
                    throw new ArgumentException($"'{slice.Name}' has {whole.numel()} elements in the given state, but the parameter has {count}.", nameof(state));
                using var flat = whole.detach().reshape(-1);
                slice.Values.copy_(flat.narrow(0, slice.Offset, slice.Values.numel()));
            }
        }

        private void AttachLayers()
        {
            foreach (var layer in _layers.Keys) {
                ZeroRouting.Attach(layer, this);
                // The engine keeps only a layer's input and recomputes it in backward already: a generated layer's own checkpoint
                // would recompute it a second time inside that recompute, for no memory saved.
                if (layer.GetType().GetProperty(CheckpointProperty, BindingFlags.Public | BindingFlags.Instance) is { CanRead: true, CanWrite: true } property
                    && property.PropertyType == typeof(bool) && (bool)property.GetValue(layer)!) {
                    property.SetValue(layer, false);
                    _checkpointedBefore.Add(layer);
                }
            }
        }

        private void DetachLayers()
        {
            foreach (var layer in _layers.Keys)
                ZeroRouting.Detach(layer, this);
            foreach (var layer in _checkpointedBefore)
                layer.GetType().GetProperty(CheckpointProperty)!.SetValue(layer, true);
        }
    }
}
