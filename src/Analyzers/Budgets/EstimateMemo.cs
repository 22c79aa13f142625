using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Budgets
{
    /// <summary>
    /// The memory model's estimates of one budget's evaluation, each (model, scenario) computed once: MG0001, the remedy search and
    /// the catalog fit all estimate the declared scenario, and the remedies' tensor-parallel degrees are the catalog's layouts when
    /// the budget declares no parallelism. A model is the same when it is the same object (the remedies build a new one per change,
    /// so comparing them by value would cost a walk of their layers for no hit); a scenario is the same when its values are.
    /// An estimate that throws is not kept: it throws again, as without the memo.
    /// </summary>
    public sealed class EstimateMemo
    {
        private readonly Dictionary<(ModelSpec Model, ScenarioSpec Scenario), MemoryEstimate> _known = new(KeyComparer.Instance);
        private readonly DeviceProfile _device;

        // The sublayer walks of these estimates: a remedy candidate changes one layer and replays the walks of the others.
        private readonly WalkMemo _walks = new();

        /// <summary>A memo for estimates on <paramref name="device"/>.</summary>
        /// <param name="device">The device every estimate is for.</param>
        public EstimateMemo(DeviceProfile device) => _device = device ?? throw new ArgumentNullException(nameof(device));

        /// <summary>Estimates computed so far (not the hits).</summary>
        public int Computed { get; private set; }

        /// <summary>The sublayer walks of the estimates computed so far: how many were walked, replayed and kept.</summary>
        public WalkMemo Walks => _walks;

        /// <summary><see cref="MemoryModel.Estimate"/> of <paramref name="model"/> and <paramref name="scenario"/>, computed once.</summary>
        /// <param name="model">The model.</param>
        /// <param name="scenario">The scenario.</param>
        /// <exception cref="ArgumentException">The memory model rejects them (see <see cref="MemoryModel.Estimate"/>).</exception>
        public MemoryEstimate Estimate(ModelSpec model, ScenarioSpec scenario)
        {
            if (_known.TryGetValue((model, scenario), out var known))
                return known;
            var estimate = MemoryModel.EstimateUsing(model, scenario, _device, _walks);
            Computed++;
            _known[(model, scenario)] = estimate;
            return estimate;
        }

        private sealed class KeyComparer : IEqualityComparer<(ModelSpec Model, ScenarioSpec Scenario)>
        {
            public static readonly KeyComparer Instance = new();

            public bool Equals((ModelSpec Model, ScenarioSpec Scenario) x, (ModelSpec Model, ScenarioSpec Scenario) y) =>
                ReferenceEquals(x.Model, y.Model) && x.Scenario.Equals(y.Scenario);

            public int GetHashCode((ModelSpec Model, ScenarioSpec Scenario) key) =>
                unchecked((RuntimeHelpers.GetHashCode(key.Model) * 397) ^ key.Scenario.GetHashCode());
        }
    }
}
