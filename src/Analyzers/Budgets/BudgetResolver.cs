using System;
using System.Collections.Generic;
using ModelGen.Analyzers.Checks;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Budgets
{
    /// <summary>A budget with its size settled: the GB to fit in and the catalog card (if any) whose overheads apply.</summary>
    /// <param name="Scenario">The declared scenario with <see cref="ScenarioSpec.Gigabytes"/> and <see cref="ScenarioSpec.Gpu"/> settled.</param>
    /// <param name="Source">Where the size came from, for messages: <c>attribute</c>, <c>project GPU</c>, <c>project gigabytes</c>.</param>
    public sealed record ResolvedBudget(ScenarioSpec Scenario, string Source);

    /// <summary>
    /// Settles the size of a budget. Precedence, first match wins:
    /// 1. a project GPU replaces the card of every budget (GB = the project's gigabytes if set, else the card's memory);
    /// 2. the attribute's Gigabytes (with its Gpu, if any, for the card's overheads);
    /// 3. the attribute's Gpu (GB = the card's memory);
    /// 4. the project's gigabytes;
    /// otherwise MG0114.
    /// </summary>
    public static class BudgetResolver
    {
        /// <summary>Resolves <paramref name="declared"/>; <paramref name="cardGigabytes"/> gives a catalog card's memory, or null when unknown.</summary>
        /// <returns>The resolved budget, or the findings that prevent it (MG0114, MG0115, MG0116).</returns>
        public static (ResolvedBudget? Budget, IReadOnlyList<SpecFinding> Findings) Resolve(
            string model, ScenarioSpec declared, ProjectBudget project, Func<string, double?> cardGigabytes, string knownCards)
        {
            SpecFinding UnknownCard(string name) => SpecFinding.Create(Descriptors.UnknownGpu, null, null, name, knownCards);
            var none = Array.Empty<SpecFinding>();

            if (project.Gpu is { } projectGpu)
            {
                if (cardGigabytes(projectGpu) is not { } memory)
                    return (null, new[] { UnknownCard(projectGpu) });
                return (new ResolvedBudget(declared with { Gpu = projectGpu, Gigabytes = project.Gigabytes ?? memory }, "project GPU"), none);
            }
            if (declared.Gpu is { } gpu && cardGigabytes(gpu) is null)
                return (null, new[] { UnknownCard(gpu) });
            if (declared.Gigabytes > 0)
                return (new ResolvedBudget(declared, "attribute"), none);
            if (declared.Gpu is { } card)
                return (new ResolvedBudget(declared with { Gigabytes = cardGigabytes(card)!.Value }, "attribute"), none);
            if (project.Gigabytes is { } gigabytes)
                return (new ResolvedBudget(declared with { Gigabytes = gigabytes }, "project gigabytes"), none);
            if (project.Problem is { } problem)
                return (null, new[] { SpecFinding.Create(Descriptors.BadScenario, null, null, model, problem) });
            return (null, new[] { SpecFinding.Create(Descriptors.BudgetWithoutSize, null, null, model) });
        }
    }
}
