using System;
using System.Linq;
using System.Threading;
using ModelGen.Distributed;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Optimizers;

/// <summary>
/// A process group whose ranks are threads of this process: each collective publishes a copy of every rank's tensor, waits for
/// all, computes its result from the copies and waits again before the copies are freed. It checks the sharding logic of the
/// optimizers without MPI; the MPI group runs the same optimizer code across processes.
/// </summary>
internal sealed class ThreadedGroup : ProcessGroup
{
    private readonly Shared _shared;

    private ThreadedGroup(Shared shared, int rank)
    {
        _shared = shared;
        Rank = rank;
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> threads, each with its rank's group, and rethrows the first failure.</summary>
    public static void Run(int size, Action<ThreadedGroup> body)
    {
        var shared = new Shared(size);
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() => {
            try {
                body(new ThreadedGroup(shared, rank));
            } catch (Exception e) {
                failures[rank] = e;
                shared.Barrier.RemoveParticipant(); // let the other ranks fail instead of waiting forever
            }
        }, maxStackSize: 16 << 20)).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            Assert.True(thread.Join(TimeSpan.FromMinutes(2)), "a rank thread did not finish");
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
            throw new AggregateException($"rank {Array.IndexOf(failures, failure)} failed", failure);
    }

    public override int Rank { get; }

    public override int Size => _shared.Tensors.Length;

    public override void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        using var result = Exchange(tensor, all => Reduce(all, op));
        tensor.copy_(result);
    }

    public override Tensor AllGather(Tensor tensor) => Exchange(tensor, all => cat(all, 0));

    public override Tensor ReduceScatter(Tensor tensor, ReduceOp op = ReduceOp.Sum, long[]? counts = null)
    {
        counts ??= Enumerable.Repeat(tensor.shape[0] / Size, Size).ToArray();
        var start = counts.Take(Rank).Sum();
        return Exchange(tensor, all => Reduce(all, op).narrow(0, start, counts[Rank]).clone());
    }

    public override void Broadcast(Tensor tensor, int root = 0)
    {
        using var result = Exchange(tensor, all => all[root].clone());
        tensor.copy_(result);
    }

    public override void Barrier() => _shared.Barrier.SignalAndWait();

    public override ProcessGroup Split(int color, int key) => throw new NotSupportedException("The threaded test group has no sub-groups.");

    private static Tensor Reduce(Tensor[] all, ReduceOp op)
    {
        var result = all[0].clone();
        foreach (var other in all.Skip(1)) {
            if (op is ReduceOp.Max) result = result.maximum(other);
            else if (op is ReduceOp.Min) result = result.minimum(other);
            else result.add_(other);
        }
        return op == ReduceOp.Average ? result.div_(all.Length) : result;
    }

    private Tensor Exchange(Tensor tensor, Func<Tensor[], Tensor> combine)
    {
        var mine = tensor.detach().clone().DetachFromDisposeScope();
        _shared.Tensors[Rank] = mine;
        _shared.Barrier.SignalAndWait();
        Tensor result;
        using (var scope = NewDisposeScope())
            result = scope.MoveToOuter(combine(_shared.Tensors.Select(t => t!).ToArray()));
        _shared.Barrier.SignalAndWait();
        mine.Dispose();
        return result;
    }

    private sealed class Shared(int size)
    {
        public Tensor?[] Tensors { get; } = new Tensor?[size];

        public Barrier Barrier { get; } = new(size);
    }
}
