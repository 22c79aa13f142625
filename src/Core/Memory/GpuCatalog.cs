using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ModelGen.Memory
{
    /// <summary>A GPU model from the built-in catalog.</summary>
    /// <param name="Name">Its usual name, e.g. <c>RTX 4090</c>, <c>A100 80GB</c>.</param>
    /// <param name="MemoryGigabytes">Memory as marketed, read as GB of 2^30 bytes: what names the card (<c>A100 80GB</c>).</param>
    /// <param name="UsableGigabytes">
    /// What one process can really use, in GB of 2^30 bytes: the total that <c>cudaMemGetInfo</c> (PyTorch's
    /// <c>torch.cuda.mem_get_info</c>, "total capacity" in its out-of-memory message) reports, which is nvidia-smi's
    /// <c>memory.total</c> less the driver's <c>Reserved</c> memory (rocm-smi's VRAM total for AMD). The CUDA context and
    /// library workspaces still come out of it: the memory model counts them as overhead.
    /// </param>
    /// <param name="UsableSource">Where <paramref name="UsableGigabytes"/> comes from (docs/gpu-catalog.md lists each with its quote).</param>
    /// <param name="BandwidthGBps">Peak memory bandwidth in GB/s (10^9 bytes per second), from the vendor's data sheet.</param>
    /// <param name="IndicativePriceUsd">
    /// An indicative price in US dollars: launch price for consumer cards, typical list or street price for data-center parts
    /// (mid-2024 to 2025). Only for comparing options; real prices vary widely.
    /// </param>
    public sealed record GpuInfo(string Name, double MemoryGigabytes, double UsableGigabytes, string UsableSource, double BandwidthGBps, double IndicativePriceUsd)
    {
        /// <summary>The bytes one process can use (<see cref="UsableGigabytes"/> × 2^30): what budgets naming this card are checked against.</summary>
        public long MemoryBytes => Gigabytes.ToBytes(UsableGigabytes);
    }

    /// <summary>The built-in GPU catalog that budgets may name (<c>[VramBudget(Gpu = "RTX 4090")]</c>).</summary>
    public static class GpuCatalog
    {
        private const string Torch = "cudaMemGetInfo total, as PyTorch reports it (\"total capacity\")";
        private const string SmiTotal = "nvidia-smi memory.total (reserved memory not known: an upper bound)";

        /// <summary>Every catalogued GPU, smallest memory first.</summary>
        public static IReadOnlyList<GpuInfo> All { get; } = new[]
        {
            new GpuInfo("RTX 3060", 12, 11.75, Torch, 360, 329),
            new GpuInfo("T4", 16, 14.56, Torch, 320, 2000),
            new GpuInfo("RTX 4060 Ti 16GB", 16, 15.99, SmiTotal, 288, 499),
            new GpuInfo("RTX 3090", 24, 23.59, Torch, 936, 1499),
            new GpuInfo("RTX 4090", 24, 23.64, Torch, 1008, 1599),
            new GpuInfo("L4", 24, 22.03, Torch, 300, 2500),
            new GpuInfo("A10", 24, 21.99, Torch, 600, 3000),
            new GpuInfo("RTX 5090", 32, 31.36, Torch, 1792, 1999),
            new GpuInfo("A100 40GB", 40, 39.39, "cudaMemGetInfo total (deviceQuery totalGlobalMem 42,298,834,944 B)", 1555, 10000),
            new GpuInfo("RTX A6000", 48, 47.99, SmiTotal, 768, 4650),
            new GpuInfo("L40S", 48, 44.42, Torch, 864, 8000),
            new GpuInfo("A100 80GB", 80, 79.25, Torch, 2039, 15000),
            new GpuInfo("H100", 80, 79.11, Torch, 3350, 30000),
            new GpuInfo("H200", 141, 139.80, "measured: torch.cuda.mem_get_info total 150,109,880,320 B (nvidia-smi 143771 MiB less 616 MiB reserved)", 4800, 35000),
            new GpuInfo("MI300X", 192, 191.69, "rocm-smi VRAM total 205,822,885,888 B", 5300, 15000),
        };

        /// <summary>
        /// Finds a GPU by name, ignoring case, spaces and hyphens; the memory may be appended (<c>H100 80GB</c>, <c>rtx-4090 24gb</c>).
        /// Returns null for an unknown or ambiguous name (<c>A100</c>: say 40GB or 80GB).
        /// </summary>
        public static GpuInfo? Find(string name)
        {
            if (name is null)
                throw new ArgumentNullException(nameof(name));
            var key = Normalize(name);
            if (key.Length == 0)
                return null;
            var matches = All.Where(g => Normalize(g.Name) == key || Normalize(g.Name) + Size(g) == key || Normalize(g.Name) == key + Size(g)).ToList();
            return matches.Count == 1 ? matches[0] : null;
        }

        private static string Size(GpuInfo gpu) => ((long)gpu.MemoryGigabytes).ToString(System.Globalization.CultureInfo.InvariantCulture) + "gb";

        private static string Normalize(string name)
        {
            var builder = new StringBuilder(name.Length);
            foreach (var c in name)
            {
                if (char.IsLetterOrDigit(c))
                    builder.Append(char.ToLowerInvariant(c));
            }
            return builder.ToString();
        }
    }
}
