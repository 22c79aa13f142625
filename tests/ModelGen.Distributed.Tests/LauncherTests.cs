using System.Collections.Generic;
using ModelGen.Distributed.Mpi;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Tests
{
    /// <summary>Start-up decisions that need no launcher: which variables mean "launched", and the grid's plan check.</summary>
    public sealed class LauncherTests
    {
        [Fact]
        public void Open_mpi_mpich_and_pmix_launchers_are_recognised()
        {
            MpiLauncher Detect(params (string Name, string Value)[] variables)
            {
                var map = new Dictionary<string, string>();
                foreach (var (name, value) in variables) map[name] = value;
                return MpiLauncher.Detect(name => map.TryGetValue(name, out var v) ? v : null);
            }

            Assert.Equal(new MpiLauncher(true, 4, 2, MpiFlavor.OpenMpi, "OMPI_COMM_WORLD_SIZE=4"), Detect(("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "2")));
            Assert.Equal(new MpiLauncher(true, 8, 5, MpiFlavor.Mpich, "PMI_SIZE=8"), Detect(("PMI_SIZE", "8"), ("PMI_RANK", "5")));
            Assert.Equal(new MpiLauncher(true, null, 3, null, "PMIX_RANK=3"), Detect(("PMIX_RANK", "3")));
            Assert.False(Detect().Launched);
            Assert.False(Detect(("OMPI_COMM_WORLD_SIZE", "not a number")).Launched);
        }

        [Fact]
        public void A_grid_needs_tensor_parallel_times_data_parallel_ranks()
        {
            var error = Assert.Throws<System.InvalidOperationException>(() => ParallelGrid.Create(SingleProcessGroup.Instance, 2, 4));
            Assert.Equal("The parallel plan needs tensor-parallel 2 × data-parallel 4 = 8 ranks, but this job has 1. Launch it with mpirun -np 8, or change the plan.", error.Message);
            Assert.Throws<System.ArgumentOutOfRangeException>(() => ParallelGrid.Create(SingleProcessGroup.Instance, 0, 1));
            using var grid = ParallelGrid.Create(SingleProcessGroup.Instance, 1, 1);
            Assert.Same(SingleProcessGroup.Instance, grid.TensorParallel);
        }

        [Fact]
        public void Unsupported_dtypes_and_integer_averages_are_refused_clearly()
        {
            var error = Assert.Throws<System.NotSupportedException>(() => ElementTransport.Of(ScalarType.Bool));
            Assert.Contains("not Bool", error.Message, System.StringComparison.Ordinal);
            Assert.Equal(ScalarType.Float32, ElementTransport.Of(ScalarType.BFloat16).ReductionDtype(ReduceOp.Sum));
            Assert.Equal(ScalarType.Int32, ElementTransport.Of(ScalarType.Byte).ReductionDtype(ReduceOp.Sum));
            Assert.Equal(ScalarType.Int32, ElementTransport.Of(ScalarType.Byte).ReductionDtype(ReduceOp.Max));
            Assert.Null(ElementTransport.Of(ScalarType.Int32).ReductionDtype(ReduceOp.Max));
            using var wrapped = ElementTransport.Of(ScalarType.Int8).Narrow(torch.tensor(new[] { 130, -129, 5 }));
            Assert.Equal(new sbyte[] { -126, 127, 5 }, wrapped.data<sbyte>().ToArray());
        }
    }
}
