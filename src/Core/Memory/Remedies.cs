using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Remedies computed, not guessed: every single change of <see cref="RemedyKind"/> that applies to the model is made to a
    /// copy of the specs and re-estimated. Those that lower the peak are returned: the ones that fit first, cheapest first
    /// (the <see cref="RemedyKind"/> order), then by the larger saving.
    /// </summary>
    public static partial class Remedies
    {
        /// <summary>Tensor-parallel degrees tried (beyond the current one).</summary>
        public static IReadOnlyList<int> TensorParallelDegrees { get; } = new[] { 2, 4, 8 };

        /// <summary>
        /// Per-layer changes (checkpointing, quantization) are tried on this many layer types at most: those holding the most memory
        /// (weights and kept activations over all their instances). Each candidate re-runs the memory model over every layer, so
        /// trying all of a model of thousands of distinct layers would cost time quadratic in their number; a change to a layer
        /// outside the largest few cannot move the peak as much as the same change to one inside.
        /// </summary>
        public const int LayersTried = 24;

        /// <summary>Finds the single changes that lower the peak of <paramref name="scenario"/>, best first.</summary>
        /// <exception cref="ArgumentException">The scenario or the model is invalid (see <see cref="MemoryModel.Estimate"/>).</exception>
        public static IReadOnlyList<Remedy> Find(ModelSpec model, ScenarioSpec scenario, long budgetBytes, DeviceProfile? device = null)
        {
            var walks = new WalkMemo(); // each candidate changes one layer: its other layers' walks are replayed
            return FindUsing(model, scenario, budgetBytes, (m, s) => MemoryModel.EstimateUsing(m, s, device, walks));
        }

        /// <summary>
        /// Finds the single changes that lower the peak of <paramref name="scenario"/>, best first, estimating with
        /// <paramref name="estimate"/> (the memory model on one device, possibly remembering estimates the caller already made).
        /// </summary>
        /// <exception cref="ArgumentException">The scenario or the model is invalid (see <see cref="MemoryModel.Estimate"/>).</exception>
        public static IReadOnlyList<Remedy> FindUsing(ModelSpec model, ScenarioSpec scenario, long budgetBytes, Func<ModelSpec, ScenarioSpec, MemoryEstimate> estimate)
        {
            if (model is null)
                throw new ArgumentNullException(nameof(model));
            if (scenario is null)
                throw new ArgumentNullException(nameof(scenario));
            if (estimate is null)
                throw new ArgumentNullException(nameof(estimate));
            var current = estimate(model, scenario);
            var before = current.PeakBytes;
            var tried = new HashSet<string>(LargestLayerTypes(current.Layers), StringComparer.Ordinal) { model.Root.Name };
            var found = new List<Remedy>();
            foreach (var (kind, layer, block, degree, text, newModel, newScenario) in Candidates(model, scenario, tried))
            {
                long peak;
                try
                {
                    peak = estimate(newModel, newScenario).PeakBytes;
                }
                catch (ArgumentException)
                {
                    continue; // the change is not valid for these sizes (e.g. a quantization group that does not divide)
                }
                var described = kind is RemedyKind.Lora or RemedyKind.QLora && peak <= budgetBytes
                    ? $"{text} fits {Breakdown.Budget(Gigabytes.FromBytes(budgetBytes))} GB with {Breakdown.Gigabytes(budgetBytes - peak)} GB headroom"
                    : text;
                if (peak < before)
                    found.Add(new Remedy(kind, layer, block, degree, described, peak, before - peak, peak <= budgetBytes, newModel, newScenario));
            }
            return BestFirst(found);
        }

        /// <summary>
        /// Those that fit first, then cheapest kind, then the larger saving; equals keep their order. A stable insertion rather than
        /// LINQ's OrderBy over bool, enum and long keys: each generic instantiation over a value type is compiled afresh in every
        /// compiler process that runs the budget analyzer (docs/benchmarks-analyzers.md), and the list is short.
        /// </summary>
        private static List<Remedy> BestFirst(List<Remedy> found)
        {
            static bool Before(Remedy a, Remedy b) =>
                a.Fits != b.Fits ? a.Fits : a.Kind != b.Kind ? a.Kind < b.Kind : a.SavingBytes > b.SavingBytes;
            var ordered = new List<Remedy>(found.Count);
            foreach (var remedy in found)
            {
                var at = ordered.Count;
                while (at > 0 && Before(remedy, ordered[at - 1]))
                    at--;
                ordered.Insert(at, remedy);
            }
            return ordered;
        }

        private static IEnumerable<(RemedyKind, string?, string?, int, string, ModelSpec, ScenarioSpec)> Candidates(ModelSpec model, ScenarioSpec scenario, HashSet<string> tried)
        {
            var training = scenario.Workload == Workload.Training;
            foreach (var layer in AllLayers(model).Where(l => tried.Contains(l.Name)))
            {
                if (training && layer.Checkpoint == CheckpointMode.None && layer.Blocks.Any(b => b is AttentionSpec { Fused: false }))
                    yield return (RemedyKind.SelectiveCheckpoint, layer.Name, null, 0, $"recompute the attention core of {layer.Name} ([Checkpoint(CheckpointMode.Selective)])",
                        Replace(model, layer, layer with { Checkpoint = CheckpointMode.Selective }), scenario);
                foreach (var stack in layer.Blocks.OfType<StackSpec>())
                {
                    if (training && stack.CheckpointEvery != 1)
                        yield return (RemedyKind.CheckpointStack, layer.Name, stack.Name, 1, $"checkpoint every layer of {layer.Name}.{stack.Name} ([Checkpoint] on the stack)",
                            Replace(model, layer, layer with { Blocks = layer.Blocks.Select(b => b == stack ? stack with { CheckpointEvery = 1 } : b).ToEquatableArray() }), scenario);
                }
                if (training && !layer.IsModel && layer.Checkpoint != CheckpointMode.Full)
                    yield return (RemedyKind.CheckpointLayer, layer.Name, null, 0, $"checkpoint {layer.Name} ([Checkpoint] on the class)",
                        Replace(model, layer, layer with { Checkpoint = CheckpointMode.Full }), scenario);
                if (layer.Blocks.Any(b => b is LinearSpec { Quant: null, TiedTo: null }))
                {
                    yield return Quantize(model, scenario, layer, RemedyKind.QuantizeInt8, new QuantSpec(QuantKind.Int8, 0, false));
                    yield return Quantize(model, scenario, layer, RemedyKind.QuantizeNF4, new QuantSpec(QuantKind.NF4, 64, false));
                }
            }
            if (training && scenario.DataParallel > 1)
            {
                for (var stage = scenario.ZeroStage + 1; stage <= (RuntimeSupport.RunsZeroStage3(model) ? 3 : 2); stage++)
                    yield return (RemedyKind.ZeroStage, null, null, stage, $"ZeRO stage {stage} over the {scenario.DataParallel} data-parallel ranks", model, scenario with { ZeroStage = stage });
            }
            if (model.Root.Precision is null or DType.Float32)
                yield return (RemedyKind.BFloat16, model.Root.Name, null, 0, $"store {model.Root.Name} in bfloat16 ([Precision(DType.BFloat16)])",
                    Replace(model, model.Root, model.Root with { Precision = DType.BFloat16 }), scenario);
            if (training && !scenario.OffloadOptimizer && scenario.Optimizer != Optimizer.Sgd)
                yield return (RemedyKind.OffloadOptimizer, null, null, 0, "keep the optimizer state in host RAM (OffloadOptimizer = true)", model, scenario with { OffloadOptimizer = true });
            foreach (var adapter in AdapterCandidates(model, scenario, tried))
                yield return adapter;
            if (scenario.Batch > 1)
                yield return (RemedyKind.HalveBatch, null, null, (int)Math.Min(int.MaxValue, scenario.Batch / 2), $"batch {scenario.Batch / 2} instead of {scenario.Batch}", model, scenario with { Batch = scenario.Batch / 2 });
            if (TensorParallelSupport.Splits(model))
            {
                // Only a degree the generated constructor builds (no MG0208/MG0209 refusal at it).
                foreach (var degree in TensorParallelDegrees.Where(d => d > scenario.TensorParallel && !TensorParallelSupport.Problems(model, scenario with { TensorParallel = d }).Any()))
                    yield return (RemedyKind.TensorParallel, null, null, degree, $"tensor parallelism over {degree} devices (TensorParallel = {degree})", model, scenario with { TensorParallel = degree });
            }
        }

        private static (RemedyKind, string?, string?, int, string, ModelSpec, ScenarioSpec) Quantize(ModelSpec model, ScenarioSpec scenario, LayerSpec layer, RemedyKind kind, QuantSpec quant)
        {
            var blocks = layer.Blocks.Select(b => b is LinearSpec { Quant: null, TiedTo: null } ? b with { Quant = quant } : b).ToEquatableArray();
            return (kind, layer.Name, null, 0, $"quantize the Linear blocks of {layer.Name} to {quant.Kind} ([Quantize(QuantKind.{quant.Kind})])",
                Replace(model, layer, layer with { Blocks = blocks }), scenario);
        }

        private static IEnumerable<LayerSpec> AllLayers(ModelSpec model) => new[] { model.Root }.Concat(model.Layers);

        private static ModelSpec Replace(ModelSpec model, LayerSpec old, LayerSpec replacement) =>
            model.Root.FullName == old.FullName
                ? model with { Root = replacement }
                : model with { Layers = model.Layers.Select(l => l.FullName == old.FullName ? replacement : l).ToEquatableArray() };

        /// <summary>
        /// The <see cref="LayersTried"/> layer types holding the most memory (weights and kept activations over all their uses),
        /// ties by name. Loops and a sort rather than GroupBy/OrderByDescending over a double key: those generic instantiations
        /// would be compiled just in time in every compiler process (docs/benchmarks-analyzers.md).
        /// </summary>
        internal static IEnumerable<string> LargestLayerTypes(IReadOnlyList<LayerMemory> layers)
        {
            var scores = new Dictionary<string, LayerTypeScore>();
            var types = new List<LayerTypeScore>();
            foreach (var layer in layers)
            {
                if (!scores.TryGetValue(layer.LayerType, out var score))
                {
                    score = new LayerTypeScore(layer.LayerType);
                    scores.Add(layer.LayerType, score);
                    types.Add(score);
                }
                score.Bytes += (double)layer.Count * (layer.WeightBytes + layer.ActivationBytes); // summed in the walk's order
            }
            types.Sort((a, b) =>
            {
                var larger = b.Bytes.CompareTo(a.Bytes);
                return larger != 0 ? larger : string.CompareOrdinal(a.Type, b.Type); // names are distinct: a total order
            });
            var largest = new List<string>();
            for (var i = 0; i < types.Count && i < LayersTried; i++)
                largest.Add(types[i].Type);
            return largest;
        }

        private sealed class LayerTypeScore
        {
            public LayerTypeScore(string type) => Type = type;

            public string Type { get; }

            public double Bytes { get; set; }
        }
    }
}
