using System.Collections.Generic;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    public static partial class SpecChecks
    {
        /// <summary>
        /// MG0540 when the scenario's sequence length is longer than the model's smallest learned position table
        /// (<see cref="PositionCap"/>): that program cannot run, so it gets no estimate. Reported on the <c>[VramBudget]</c>.
        /// </summary>
        public static IReadOnlyList<SpecFinding> CheckPositions(ModelSpec model, ScenarioSpec scenario)
        {
            if (PositionCap.Find(model) is not { } cap || scenario.SequenceLength <= cap.Positions)
                return System.Array.Empty<SpecFinding>();
            return new[] { SpecFinding.Create(Descriptors.SequenceBeyondPositions, null, null, PositionCap.Describe(model.Root.Name, scenario.SequenceLength, cap), cap.Positions) };
        }
    }
}
