using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Analyzers.Checks;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Budgets
{
    /// <summary>How a scenario is spread over several devices of one card.</summary>
    public enum Spread
    {
        /// <summary>One device.</summary>
        Single = 0,

        /// <summary>Tensor parallelism over the sharded blocks (<c>TensorParallel = n</c>).</summary>
        TensorParallel = 1,

        /// <summary>ZeRO stage 3 over <c>n</c> data-parallel ranks: weights, gradients and optimizer state split (training only).</summary>
        Zero3 = 2,
    }

    /// <summary>The fewest devices of one catalog card on which a scenario fits.</summary>
    /// <param name="Card">The card.</param>
    /// <param name="Devices">1, 2, 4 or 8.</param>
    /// <param name="Spread">How the scenario is spread over them.</param>
    /// <param name="PeakBytes">The peak per device with that spread.</param>
    public sealed record CardFit(GpuInfo Card, int Devices, Spread Spread, long PeakBytes);

    /// <summary>
    /// On which catalog cards, and how many of each, a scenario fits. The model spans 1, 2, 4 or 8 devices, spread by tensor
    /// parallelism (when blocks are sharded and every sharded size divides) or, for training, by ZeRO-3 over data-parallel ranks
    /// (Rajbhandari et al. 2020, §5.3); the fewest devices win, then tensor parallelism. The declared parallelism is replaced,
    /// offload is kept. Peaks do not depend on the card (one CUDA device profile), so each layout is estimated once.
    /// </summary>
    public static class CatalogFit
    {
        /// <summary>Device counts tried.</summary>
        public static IReadOnlyList<int> DeviceCounts { get; } = new[] { 1, 2, 4, 8 };

        /// <summary>For each catalog card the fewest devices that fit, in catalog order; cards on which 8 do not fit are left out.</summary>
        /// <exception cref="ArgumentException">The memory model rejects the model (reported by the spec checks first).</exception>
        public static IReadOnlyList<CardFit> Find(ModelSpec model, ScenarioSpec scenario) =>
            FindUsing(model, scenario, (m, s) => MemoryModel.Estimate(m, s, DeviceProfile.Cuda));

        /// <summary>
        /// For each catalog card the fewest devices that fit, estimating with <paramref name="estimate"/> (the memory model on the
        /// CUDA profile, possibly remembering the estimates the caller already made, see <see cref="EstimateMemo"/>).
        /// </summary>
        /// <exception cref="ArgumentException">The memory model rejects the model (reported by the spec checks first).</exception>
        public static IReadOnlyList<CardFit> FindUsing(ModelSpec model, ScenarioSpec scenario, Func<ModelSpec, ScenarioSpec, MemoryEstimate> estimate)
        {
            if (estimate is null)
                throw new ArgumentNullException(nameof(estimate));
            var single = scenario with { TensorParallel = 1, DataParallel = 1, ZeroStage = 0 };
            var layouts = new List<Layout>
            {
                new(1, Spread.Single, estimate(model, single).PeakBytes),
            };
            // Tensor parallelism only where the generated constructor splits every [Shard] block (TensorParallelSupport).
            var sharded = TensorParallelSupport.Splits(model);
            var zero3 = RuntimeSupport.RunsZeroStage3(model);
            foreach (var devices in DeviceCounts.Where(d => d > 1))
            {
                var tensorParallel = single with { TensorParallel = devices };
                if (sharded && !SpecChecks.CheckSharding(model, tensorParallel).Any(f => f.Id is "MG0201" or "MG0208" or "MG0209" or "MG0212" or "MG0213"))
                    layouts.Add(new(devices, Spread.TensorParallel, estimate(model, tensorParallel).PeakBytes));
                if (scenario.Workload == Workload.Training && zero3)
                    layouts.Add(new(devices, Spread.Zero3, estimate(model, single with { DataParallel = devices, ZeroStage = 3 }).PeakBytes));
            }

            var fits = new List<CardFit>();
            foreach (var card in GpuCatalog.All)
            {
                // The fewest devices, then tensor parallelism, the first such layout on a tie. A loop, not LINQ over these tuples:
                // every generic instantiation over a value type is compiled afresh in each compiler process (docs/benchmarks-analyzers.md).
                var best = -1;
                for (var i = 0; i < layouts.Count; i++)
                {
                    if (layouts[i].Peak > card.MemoryBytes)
                        continue;
                    if (best < 0 || layouts[i].Devices < layouts[best].Devices
                        || (layouts[i].Devices == layouts[best].Devices && layouts[i].Spread < layouts[best].Spread))
                        best = i;
                }
                if (best >= 0)
                    fits.Add(new CardFit(card, layouts[best].Devices, layouts[best].Spread, layouts[best].Peak));
            }
            return fits;
        }

        /// <summary>
        /// The fits in words, fewest devices first, with the indicative price of the devices:
        /// <c>1× H100 (≈$30000), 2× RTX 4090 (tensor parallel, ≈$3198)</c>; and the cards where it does not fit on 8.
        /// </summary>
        public static string Describe(IReadOnlyList<CardFit> fits)
        {
            var text = fits.Count == 0
                ? "no catalog card, even 8 of a kind"
                : string.Join(", ", fits.OrderBy(f => f.Devices).Select(Describe));
            var missing = GpuCatalog.All.Where(card => fits.All(f => f.Card != card)).Select(card => card.Name).ToList();
            if (fits.Count > 0 && missing.Count > 0)
                text += "; not on 8 of: " + string.Join(", ", missing);
            return text;
        }

        private static string Describe(CardFit fit)
        {
            var price = "≈$" + (fit.Card.IndicativePriceUsd * fit.Devices).ToString("0", CultureInfo.InvariantCulture);
            var spread = fit.Spread switch
            {
                Spread.TensorParallel => "tensor parallel, ",
                Spread.Zero3 => "ZeRO-3, ",
                _ => "",
            };
            return $"{fit.Devices}× {fit.Card.Name} ({spread}{price})";
        }

        /// <summary>One way to run the model on a card: devices, how they share it, the peak per device. A class, not a tuple:
        /// a list of a struct is compiled just in time in every compiler process (docs/benchmarks-analyzers.md).</summary>
        private sealed class Layout
        {
            public Layout(int devices, Spread spread, long peak)
            {
                Devices = devices;
                Spread = spread;
                Peak = peak;
            }

            public int Devices { get; }

            public Spread Spread { get; }

            public long Peak { get; }
        }
    }
}
