using System.Collections.Generic;

namespace ModelGen.Memory
{
    /// <summary>
    /// What the generated forwards' dispose scopes hold while a step runs in inference. A generated layer's forward runs the
    /// user's <c>Forward</c> inside a dispose scope that frees the tensors it created only when the layer returns, and hands its
    /// output to the enclosing scope. So while step k runs, every unit (a block, or a whole child layer instance) that already ran
    /// in a still-open scope holds its output: during the last block of a stack of L, the model's scope holds the embedding's and
    /// the L − 1 earlier blocks' outputs (measured in docs/memory-check.md, "Inference"). Training saves those tensors anyway
    /// (they are the saved inputs of the next blocks), so only the inference phases add this.
    /// </summary>
    internal static class ScopeRetention
    {
        /// <summary>
        /// Bytes held by open scopes at each step, beyond the step's own input (which is the last unit's output). A unit's output
        /// is the input of the step that follows it (blocks chain; a layer's output is the next layer's input).
        /// </summary>
        public static long[] Held(IReadOnlyList<Step> steps)
        {
            var held = new long[steps.Count];
            // The open scopes of the current step, outermost first, each with its units' outputs (linear in the steps).
            var open = new List<(string Scope, Dictionary<string, long> Units)>();
            for (var k = 0; k < steps.Count; k++)
            {
                var chain = Chain(Parent(steps[k].Path));
                var keep = 0;
                while (keep < open.Count && keep < chain.Count && open[keep].Scope == chain[keep])
                    keep++;
                open.RemoveRange(keep, open.Count - keep);
                for (var i = keep; i < chain.Count; i++)
                    open.Add((chain[i], new Dictionary<string, long>(System.StringComparer.Ordinal)));
                if (k > 0)
                {
                    var previous = steps[k - 1].Path;
                    for (var i = open.Count - 1; i >= 0; i--)
                    {
                        var scope = open[i].Scope;
                        if (previous.Length > scope.Length + 1 && previous.StartsWith(scope, System.StringComparison.Ordinal) && previous[scope.Length] == '.')
                        {
                            var end = previous.IndexOf('.', scope.Length + 1);
                            open[i].Units[end < 0 ? previous : previous.Substring(0, end)] = steps[k].Input; // the unit's output so far
                            break;
                        }
                    }
                }
                long total = 0, units = 0;
                foreach (var (_, scopeUnits) in open)
                {
                    units += scopeUnits.Count;
                    foreach (var bytes in scopeUnits.Values)
                        total += bytes;
                }
                held[k] = units == 0 ? 0 : System.Math.Max(0, total - steps[k].Input);
            }
            return held;
        }

        /// <summary>"A.B.C" → ["A", "A.B", "A.B.C"]; "" → [].</summary>
        private static List<string> Chain(string scope)
        {
            var chain = new List<string>();
            for (var dot = scope.IndexOf('.'); dot >= 0; dot = scope.IndexOf('.', dot + 1))
                chain.Add(scope.Substring(0, dot));
            if (scope.Length > 0)
                chain.Add(scope);
            return chain;
        }

        private static string Parent(string path)
        {
            var dot = path.LastIndexOf('.');
            return dot < 0 ? "" : path.Substring(0, dot);
        }
    }
}
