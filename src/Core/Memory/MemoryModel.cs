using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The one memory model: peak device memory of a model for a scenario, as a breakdown that adds up. Used by the analyzers,
    /// the generated memory profile and the runtime planner alike. Plain arithmetic over specs; see docs/memory-model.md.
    /// </summary>
    public static class MemoryModel
    {
        /// <summary>Estimates the peak memory per device of <paramref name="model"/> running <paramref name="scenario"/>.</summary>
        /// <param name="model">The model and its layers, as the parser or a generated <c>DescribeModel</c> builds them.</param>
        /// <param name="scenario">Workload, shapes, optimizer, parallelism and offload.</param>
        /// <param name="device">The device; null means a generic CUDA GPU (<see cref="DeviceProfile.Cuda"/>).</param>
        /// <exception cref="ArgumentNullException">A required argument is null.</exception>
        /// <exception cref="ArgumentException">The scenario or a block size is invalid, or the layers do not form a tree.</exception>
        public static MemoryEstimate Estimate(ModelSpec model, ScenarioSpec scenario, DeviceProfile? device = null) =>
            EstimateUsing(model, scenario, device, null);

        /// <summary>
        /// Estimates the peak memory per device of <paramref name="model"/> running <paramref name="scenario"/>, replaying the sublayer
        /// walks <paramref name="walks"/> remembers from earlier estimates of the same analysis (the same result, computed faster when
        /// most layer specs are shared, as in a remedy search).
        /// </summary>
        /// <param name="model">The model and its layers, as the parser or a generated <c>DescribeModel</c> builds them.</param>
        /// <param name="scenario">Workload, shapes, optimizer, parallelism and offload.</param>
        /// <param name="device">The device; null means a generic CUDA GPU (<see cref="DeviceProfile.Cuda"/>).</param>
        /// <param name="walks">The analysis' memo of sublayer walks; null walks every layer.</param>
        /// <exception cref="ArgumentNullException">A required argument is null.</exception>
        /// <exception cref="ArgumentException">The scenario or a block size is invalid, or the layers do not form a tree.</exception>
        public static MemoryEstimate EstimateUsing(ModelSpec model, ScenarioSpec scenario, DeviceProfile? device, WalkMemo? walks)
        {
            if (model is null)
                throw new ArgumentNullException(nameof(model));
            if (scenario is null)
                throw new ArgumentNullException(nameof(scenario));
            SpecChecks.Check(model, scenario);
            device ??= DeviceProfile.Cuda;

            var training = scenario.Workload == Workload.Training;
            var pass = new Pass(scenario.Batch, scenario.SequenceLength, scenario.SequenceLength, scenario.TensorParallel, training, device)
            {
                GatheredLogits = training && scenario.GatheredLogits,
            };
            // Under the ZeRO-3 engine every stacked layer is recomputed in backward, declared [Checkpoint] or not.
            var walk = ModelWalk.Run(ZeroThreeRecompute.Apply(model, scenario), pass, scenario.SequenceParallel, walks);
            var states = ModelStates.Of(walk, scenario, training ? LargestTrainableTensor.Elements(model, scenario.TensorParallel, walks) : 0);

            List<Phases.PhasePoint> points;
            if (training)
            {
                points = Phases.Training(walk, states, pass);
            }
            else
            {
                points = new List<Phases.PhasePoint> { Phases.Inference(MemoryPhases.Prefill, walk, states, pass, walk.KvCacheBytes) };
                // An encoder (attention, none of it causal) reads its input in one pass: no KV cache, no decode step.
                var attention = model.Layers.Concat(new[] { model.Root }).SelectMany(l => l.Blocks).OfType<AttentionSpec>().ToList();
                if (attention.Count == 0 || attention.Any(a => a.Causal))
                {
                    var decodePass = new Pass(scenario.Batch, 1, scenario.SequenceLength, scenario.TensorParallel, false, device);
                    var decode = ModelWalk.Run(model, decodePass, scenario.SequenceParallel, walks);
                    points.Add(Phases.Inference(MemoryPhases.Decode, decode, states, decodePass, walk.KvCacheBytes));
                }
            }

            // Loops rather than LINQ here and below: this runs in the compiler, where every generic instantiation over a value type
            // (a tuple, a key selector returning int) is compiled just in time in every compiler process (docs/benchmarks-analyzers.md).
            var phases = new List<PhasePeak>(points.Count);
            foreach (var point in points)
                phases.Add(Peak(point.Phase, point.Point, device));
            var peak = phases[0];
            foreach (var phase in phases)
            {
                if (phase.PeakBytes > peak.PeakBytes)
                    peak = phase;
            }
            return new MemoryEstimate(peak.PeakBytes, peak.Phase, peak.Terms, phases, states.Host,
                walk.ParameterCount, walk.TrainableParameterCount, ByDepth(walk.Layers.Values));
        }

        /// <summary>The layers outermost first, in their walk order within a depth (the order a stable sort by depth gives).</summary>
        private static List<LayerMemory> ByDepth(IEnumerable<LayerMemory> layers)
        {
            var depths = new List<int>();
            var all = new List<LayerMemory>();
            var deepest = 0;
            foreach (var layer in layers)
            {
                var depth = 0;
                foreach (var c in layer.Path)
                {
                    if (c == '.')
                        depth++;
                }
                all.Add(layer);
                depths.Add(depth);
                deepest = Math.Max(deepest, depth);
            }
            var sorted = new List<LayerMemory>(all.Count);
            for (var depth = 0; depth <= deepest; depth++)
            {
                for (var i = 0; i < all.Count; i++)
                {
                    if (depths[i] == depth)
                        sorted.Add(all[i]);
                }
            }
            return sorted;
        }

        private static PhasePeak Peak(string phase, Phases.Point point, DeviceProfile device)
        {
            var overhead = device.OverheadBytes(point.Total);
            var terms = new[]
            {
                new MemoryTerm(MemoryTerms.Weights, point.Weights),
                new MemoryTerm(MemoryTerms.Gradients, point.Gradients),
                new MemoryTerm(MemoryTerms.Optimizer, point.Optimizer),
                new MemoryTerm(MemoryTerms.Activations, point.Activations),
                new MemoryTerm(MemoryTerms.Transients, point.Transients),
                new MemoryTerm(MemoryTerms.KvCache, point.KvCache),
                new MemoryTerm(MemoryTerms.Overhead, overhead),
            };
            return new PhasePeak(phase, point.Total + overhead, terms);
        }
    }
}
