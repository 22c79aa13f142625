using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>The walk's use of a <see cref="WalkMemo"/>: each sublayer instance walked once per analysis, replayed after.</summary>
    internal sealed partial class ModelWalk
    {
        // The remembered walks for this walk's pass, or null without a memo.
        private readonly WalkContext? _remembered;

        // The sublayer walks being recorded, outermost first: every change to Layers is appended to each of them.
        private readonly List<List<LayerEntry>> _recordings = new();

        private bool Recording => _recordings.Count > 0;

        private void Record(LayerEntry entry)
        {
            foreach (var recording in _recordings)
                recording.Add(entry);
        }

        /// <summary>
        /// <see cref="Layer"/> for a sublayer instance, replayed from the memo when it walked the same sublayer in the same place and
        /// scope before. A cycle cannot pass unnoticed: <see cref="Run"/> counts the steps (which throws on one) before walking.
        /// </summary>
        private List<Step> Sublayer(LayerSpec layer, DType precision, string path, long count)
        {
            if (_remembered is null)
                return Layer(layer, precision, path, count);
            var memo = _remembered.Memo;
            if (_remembered.Find(layer, precision, path, count, _lora, _layers) is { } known)
            {
                memo.Replayed++;
                Replay(known);
                return known.Steps; // shared: a walk's step lists are never changed after it returns them
            }
            memo.Walked++;
            var lora = _lora;
            var totalsBefore = Totals();
            var stepsBefore = StepsCreated;
            var entries = new List<LayerEntry>();
            _recordings.Add(entries);
            List<Step> steps;
            try
            {
                steps = Layer(layer, precision, path, count);
            }
            finally
            {
                _recordings.RemoveAt(_recordings.Count - 1);
            }
            var totals = Totals();
            for (var i = 0; i < totals.Length; i++)
                totals[i] -= totalsBefore[i]; // totals only grow (every term is a size), so the difference cannot overflow
            var (types, specs) = ReachableLayers(layer);
            _remembered.Keep(layer, new LayerWalk(precision, path, count, lora, types, specs, steps, StepsCreated - stepsBefore, totals, entries));
            return steps;
        }

        /// <summary>Adds what a remembered walk added, in the order it added it.</summary>
        private void Replay(LayerWalk known)
        {
            // Adding the sum instead of each term: the terms are sizes (not negative), so the sum overflows exactly when a term would.
            var totals = known.Totals;
            ParameterCount += totals[0];
            TrainableParameterCount += totals[1];
            WeightBytes += totals[2];
            GradientBytes += totals[3];
            TrainableElements += totals[4];
            SixteenBitTrainableElements += totals[5];
            EightBitStateBytes += totals[6];
            KvCacheBytes += totals[7];
            StepsCreated += known.StepsCreated;
            foreach (var entry in known.Entries)
            {
                if (entry.Type is null)
                    AddCheckpointed(entry.Path, entry.Count, entry.Times);
                else
                    AddLayerMemory(entry.Path, entry.Type, entry.Count, entry.Weights, entry.Saved!);
            }
        }

        /// <summary>The model-wide totals, in the order <see cref="Replay"/> adds them.</summary>
        private long[] Totals() => new[]
        {
            ParameterCount, TrainableParameterCount, WeightBytes, GradientBytes, TrainableElements, SixteenBitTrainableElements,
            EightBitStateBytes, KvCacheBytes,
        };

        /// <summary>
        /// Every layer type <paramref name="layer"/> reaches through its sublayers and stacks, with what each resolves to now: all a walk
        /// of it can look up (<see cref="Find"/>, and <see cref="Widths"/> for dropout and input widths).
        /// </summary>
        private (string[] Types, LayerSpec?[] Specs) ReachableLayers(LayerSpec layer)
        {
            var types = new List<string>();
            var specs = new List<LayerSpec?>();
            var seen = new HashSet<string>(System.StringComparer.Ordinal);
            var pending = new Stack<LayerSpec>();
            pending.Push(layer);
            while (pending.Count > 0)
            {
                foreach (var block in pending.Pop().Blocks)
                {
                    var type = block switch
                    {
                        LayerRefSpec reference => reference.LayerType,
                        StackSpec stack => stack.LayerType,
                        _ => null,
                    };
                    if (type is null || !seen.Add(type))
                        continue;
                    var found = _layers.TryGetValue(type, out var spec) ? spec : null;
                    types.Add(type);
                    specs.Add(found);
                    if (found is not null)
                        pending.Push(found);
                }
            }
            return (types.ToArray(), specs.ToArray());
        }
    }
}
