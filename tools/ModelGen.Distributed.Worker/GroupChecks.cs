using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Worker
{
    /// <summary>Sub-groups from Split and from every tensor-parallel × data-parallel grid the world's size allows.</summary>
    internal static class GroupChecks
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            // Split by parity, ordered by descending world rank.
            using (var parity = world.Split(world.Rank % 2, -world.Rank))
            {
                var members = Enumerable.Range(0, world.Size).Where(r => r % 2 == world.Rank % 2).OrderByDescending(r => r).ToArray();
                checks.True(parity.Size == members.Length, $"Split: size {parity.Size}, expected {members.Length}");
                checks.True(parity.Rank == System.Array.IndexOf(members, world.Rank), $"Split: rank {parity.Rank}, expected {System.Array.IndexOf(members, world.Rank)}");
                using var gathered = parity.AllGather(torch.tensor(new long[] { world.Rank }));
                checks.Equal(torch.tensor(members.Select(r => (long)r).ToArray()), gathered, "Split: members in key order");
            }

            for (var tp = 1; tp <= world.Size; tp++)
            {
                if (world.Size % tp != 0) continue;
                var dp = world.Size / tp;
                using var grid = ParallelGrid.Create(world, tp, dp);
                var what = $"grid TP {tp} x DP {dp}";
                checks.True(grid.TensorParallel.Size == tp && grid.DataParallel.Size == dp, $"{what}: group sizes {grid.TensorParallel.Size}, {grid.DataParallel.Size}");
                checks.True(grid.TensorParallelRank == world.Rank % tp && grid.DataParallelRank == world.Rank / tp, $"{what}: ranks");
                using var tpMembers = grid.TensorParallel.AllGather(torch.tensor(new long[] { world.Rank }));
                var firstOfBlock = world.Rank / tp * tp;
                checks.Equal(torch.arange(firstOfBlock, firstOfBlock + tp, dtype: ScalarType.Int64), tpMembers, $"{what}: tensor-parallel ranks are consecutive");
                using var dpMembers = grid.DataParallel.AllGather(torch.tensor(new long[] { world.Rank }));
                checks.Equal(torch.arange(world.Rank % tp, world.Size, tp, dtype: ScalarType.Int64), dpMembers, $"{what}: data-parallel ranks stride by TP");
                // A collective in a sub-group sees only its members.
                using var sum = torch.tensor(new long[] { world.Rank });
                grid.DataParallel.AllReduce(sum);
                checks.True(sum.item<long>() == Enumerable.Range(0, dp).Sum(k => (long)(world.Rank % tp + k * tp)), $"{what}: data-parallel all-reduce");
            }
        }
    }
}
