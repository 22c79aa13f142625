using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Diagnostics;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    public static partial class SpecChecks
    {
        /// <summary>[MixtureOfExperts] values: at least one expert, 1 ≤ top-k ≤ experts, a usable capacity factor (MG0541–MG0544).</summary>
        private static void CheckMixtureOfExperts(BlockSpec block, List<SpecFinding> findings)
        {
            if (block is not MixtureOfExpertsSpec moe)
                return;
            var kind = KnownNames.MixtureOfExpertsAttribute;
            var counted = true;
            foreach (var (name, size) in new[] { ("Experts", moe.Experts), ("TopK", moe.TopK) })
            {
                if (size.Value < 1)
                {
                    findings.Add(SpecFinding.Create(Descriptors.ExpertCountNotPositive, block.Name, kind, block.Name, Show(name, size)));
                    counted = false;
                }
            }
            if (counted && moe.TopK.Value > moe.Experts.Value)
                findings.Add(SpecFinding.Create(Descriptors.TopKExceedsExperts, block.Name, kind, block.Name, Show("TopK", moe.TopK), moe.Experts.Value));
            var factor = moe.CapacityFactor;
            if (!(factor >= 0) || double.IsInfinity(factor))
            {
                findings.Add(SpecFinding.Create(Descriptors.BadCapacityFactor, block.Name, kind, block.Name, Format(factor)));
            }
            else if (factor > 0 && factor < 1)
            {
                var share = Math.Round(factor * 100, 1).ToString(CultureInfo.InvariantCulture);
                findings.Add(SpecFinding.Create(Descriptors.CapacityDropsBalancedRoutes, block.Name, kind, block.Name, Format(factor), share));
            }
        }
    }
}
