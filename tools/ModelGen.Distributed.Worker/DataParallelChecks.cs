using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Worker
{
    /// <summary>
    /// Data parallelism against one process: DP gradients equal the gradients of the whole batch computed alone, and four
    /// accumulated micro-batches equal one batch of four.
    /// </summary>
    internal static class DataParallelChecks
    {
        private const int RowsPerRank = 3, Features = 8, Outputs = 4;

        public static void Run(ProcessGroup world, Checks checks)
        {
            // Small buckets (a few layers each) so that several start during backward; then PyTorch's default size.
            foreach (var bucketBytes in new[] { 700L, 25L * 1024 * 1024 })
            {
                using var model = Model(seed: 17 + world.Rank); // Different on every rank: the constructor must broadcast rank 0's.
                using var ddp = new DistributedDataParallel(model, world, new DataParallelOptions { BucketBytes = bucketBytes });
                using var reference = Model(seed: 0);
                CopyParameters(model, reference);
                checks.True(SameOnEveryRank(world, model), $"bucket {bucketBytes}: parameters equal on every rank after construction");

                // One step: each rank its slice of the batch; the reference sees the whole batch.
                var (inputs, targets) = Batch(world.Size * RowsPerRank, salt: 1);
                Loss(model, inputs.narrow(0, world.Rank * RowsPerRank, RowsPerRank), targets.narrow(0, world.Rank * RowsPerRank, RowsPerRank)).backward();
                ddp.SynchronizeGradients();
                Loss(reference, inputs, targets).backward();
                CompareGradients(checks, reference, model, $"bucket {bucketBytes}: DP={world.Size} gradients vs one process on the whole batch");
                var step = ddp.LastStep!;
                checks.True(step.Buckets == ddp.BucketBytes.Count, $"bucket {bucketBytes}: every bucket reduced");
                if (world.Size > 1 && bucketBytes < 1000)
                    checks.True(ddp.OverlapsWithBackward && step.Buckets >= 3 && step.StartedDuringBackward >= 1,
                        $"bucket {bucketBytes}: {step.StartedDuringBackward} of {step.Buckets} buckets started during backward");

                if (world.Size > 1)
                    checks.True(ddp.GradientsShareBuckets, $"bucket {bucketBytes}: gradients are views of the buckets after a step");

                // Accumulation: four micro-batches, the first three under NoSync, each loss scaled by 1/4. Zeroing in place
                // keeps the gradients inside the buckets; the first step above started from none.
                model.zero_grad(false);
                reference.zero_grad();
                const int micro = 4;
                var (big, bigTargets) = Batch(world.Size * RowsPerRank * micro, salt: 2);
                Tensor Slice(Tensor t, int k) => t.narrow(0, (k * world.Size + world.Rank) * RowsPerRank, RowsPerRank);
                using (ddp.NoSync())
                {
                    for (var k = 0; k < micro - 1; k++) (Loss(model, Slice(big, k), Slice(bigTargets, k)) / micro).backward();
                    if (world.Size > 1)
                    {
                        // Nothing was averaged: the gradient is still this rank's own.
                        using var local = Model(seed: 0);
                        CopyParameters(model, local);
                        for (var k = 0; k < micro - 1; k++) (Loss(local, Slice(big, k), Slice(bigTargets, k)) / micro).backward();
                        CompareGradients(checks, local, model, $"bucket {bucketBytes}: NoSync keeps gradients local");
                    }
                    try
                    {
                        ddp.SynchronizeGradients();
                        checks.True(false, $"bucket {bucketBytes}: SynchronizeGradients inside NoSync was accepted");
                    }
                    catch (InvalidOperationException e)
                    {
                        checks.True(e.Message.Contains("inside NoSync()", StringComparison.Ordinal), $"bucket {bucketBytes}: NoSync misuse message: {e.Message}");
                    }
                }
                (Loss(model, Slice(big, micro - 1), Slice(bigTargets, micro - 1)) / micro).backward();
                ddp.SynchronizeGradients();
                Loss(reference, big, bigTargets).backward();
                CompareGradients(checks, reference, model, $"bucket {bucketBytes}: 4 accumulated micro-batches vs one batch of 4 on one process");
                if (world.Size > 1)
                    checks.True(ddp.GradientsShareBuckets, $"bucket {bucketBytes}: gradients zeroed in place stay views of the buckets");
            }
            RunBFloat16(world, checks);
        }

        /// <summary>
        /// bf16 parameters: buckets are bf16, averaged in fp32 and rounded once. Against an fp32 reference on the whole batch
        /// the gradients differ by bf16's own rounding (forward, backward and the average), so the bound is 2^-6 of the
        /// largest gradient; a rank that kept its own gradient would be off by far more (its batch is a quarter or half).
        /// </summary>
        public static void RunBFloat16(ProcessGroup world, Checks checks)
        {
            using var model = Model(seed: 5);
            model.to(ScalarType.BFloat16);
            using var ddp = new DistributedDataParallel(model, world, new DataParallelOptions { BucketBytes = 700 });
            using var reference = Model(seed: 0);
            CopyParameters(model, reference);
            var (inputs, targets) = Batch(world.Size * RowsPerRank, salt: 3);
            using var mine = inputs.narrow(0, world.Rank * RowsPerRank, RowsPerRank).to(ScalarType.BFloat16);
            using var myTargets = targets.narrow(0, world.Rank * RowsPerRank, RowsPerRank).to(ScalarType.BFloat16);
            Loss(model, mine, myTargets).backward();
            ddp.SynchronizeGradients();
            Loss(reference, inputs, targets).backward();
            foreach (var ((name, e), (_, a)) in reference.named_parameters().Zip(model.named_parameters()))
            {
                checks.True(a.grad is not null && a.grad.dtype == ScalarType.BFloat16, $"bf16: {name} has a bf16 gradient");
                if (a.grad is null || e.grad is null) continue;
                var scale = Math.Max(e.grad.abs().max().item<float>(), 1e-3f);
                using var bound = torch.full_like(e.grad, Math.Pow(2, -6) * scale, dtype: ScalarType.Float64);
                checks.Within(e.grad.to(ScalarType.Float64), a.grad.to(ScalarType.Float64), bound, $"bf16: DP={world.Size} gradient of {name} vs fp32 on the whole batch");
            }
            if (world.Size > 1) checks.True(ddp.GradientsShareBuckets, "bf16: gradients are views of the buckets");
        }

        private static nn.Module<Tensor, Tensor> Model(int seed)
        {
            torch.manual_seed(seed);
            return nn.Sequential(
                nn.Linear(Features, 16), nn.Tanh(),
                nn.Linear(16, 16), nn.Tanh(),
                nn.Linear(16, 16), nn.Tanh(),
                nn.Linear(16, Outputs));
        }

        private static Tensor Loss(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
            => nn.functional.mse_loss(model.call(inputs), targets);

        private static (Tensor Inputs, Tensor Targets) Batch(long rows, int salt)
        {
            var generator = new Generator((ulong)(1000 + salt), CPU);
            return (torch.randn(new[] { rows, (long)Features }, generator: generator), torch.randn(new[] { rows, (long)Outputs }, generator: generator));
        }

        private static void CopyParameters(nn.Module from, nn.Module to)
        {
            using var noGrad = torch.no_grad();
            foreach (var (source, target) in from.parameters().Zip(to.parameters())) target.copy_(source);
        }

        private static bool SameOnEveryRank(ProcessGroup world, nn.Module model)
        {
            foreach (var parameter in model.parameters())
            {
                using var max = parameter.detach().clone();
                using var min = parameter.detach().clone();
                world.AllReduce(max, ReduceOp.Max);
                world.AllReduce(min, ReduceOp.Min);
                if (!max.equal(min).all().item<bool>()) return false;
            }
            return true;
        }

        // fp32 gradients summed in another order: relative 1e-5 of the largest gradient.
        private static void CompareGradients(Checks checks, nn.Module expected, nn.Module actual, string what)
        {
            foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            {
                if (e.grad is null || a.grad is null)
                {
                    checks.True(false, $"{what}: {name} has no gradient");
                    continue;
                }
                var scale = Math.Max(e.grad.abs().max().item<float>(), 1e-3f);
                using var bound = torch.full_like(e.grad, 1e-5 * scale, dtype: ScalarType.Float64);
                checks.Within(e.grad, a.grad, bound, $"{what}: {name}");
            }
        }
    }
}
