using System.Linq;
using ModelGen.Distributed.Worker;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// Part of the <c>blocks</c> case: backward through tensor-parallel regions leaves (almost) nothing in the caller's dispose
    /// scope. TorchSharp registers every gradient handle a C# backward is given or returns on the thread's scope — during
    /// <c>loss.backward()</c>, the training step's — so without <c>BackwardHandles</c> each region's gradients stayed resident
    /// until the step ended (the tp2-sp memory-check row was 15.5 % over). Four column/row pairs: only the last ModelGen
    /// backward's returned gradients may remain.
    /// </summary>
    internal static class BackwardHandlesCase
    {
        private const int Pairs = 4, MostLeft = 6;

        public static void Run(TensorParallelOptions options, Checks checks, string tag)
        {
            manual_seed(19);
            var columns = Enumerable.Range(0, Pairs).Select(i => new ColumnParallelLinear(16, 32, options, $"c{i}")).ToArray();
            var rows = Enumerable.Range(0, Pairs).Select(i => new RowParallelLinear(32, 16, options, $"r{i}")).ToArray();
            using (var scope = NewDisposeScope())
            {
                var x = randn(2, 8 / (options.SequenceParallel ? options.Degree : 1), 16).requires_grad_();
                var y = x;
                for (var i = 0; i < Pairs; i++)
                    y = y + rows[i].call(nn.functional.gelu(columns[i].call(y)));
                var loss = y.square().sum();
                var before = scope.DisposablesCount;
                BackwardFailures.Backward(loss);
                var left = scope.DisposablesCount - before;
                checks.True(left <= MostLeft, $"backward through {Pairs} column/row pairs{tag} left {left} tensors in the step's dispose scope (at most {MostLeft}: the last backward's gradients)");
                checks.True(x.grad is not null && columns.All(c => c.Weight.grad is not null), $"backward through {Pairs} column/row pairs{tag} still gives every gradient");
            }
            foreach (var layer in columns.Cast<nn.Module>().Concat(rows))
                layer.Dispose();
        }
    }
}
