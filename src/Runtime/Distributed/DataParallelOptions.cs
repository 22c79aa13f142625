namespace ModelGen.Distributed
{
    /// <summary>How <see cref="DistributedDataParallel"/> communicates gradients.</summary>
    public sealed record DataParallelOptions
    {
        /// <summary>
        /// The size of a gradient bucket in bytes: 25 MiB by default, PyTorch DDP's <c>bucket_cap_mb</c>. Larger buckets send
        /// fewer messages; smaller ones start earlier during backward.
        /// </summary>
        public long BucketBytes { get; init; } = 25L * 1024 * 1024;

        /// <summary>Whether the constructor copies rank 0's parameters and buffers to every rank (true by default), so all ranks start equal.</summary>
        public bool BroadcastParameters { get; init; } = true;

        /// <summary>Whether buckets start during backward on a background thread (true by default, where MPI grants MPI_THREAD_MULTIPLE).</summary>
        public bool OverlapWithBackward { get; init; } = true;
    }

    /// <summary>What one gradient synchronization did and how long it took.</summary>
    /// <param name="Buckets">The number of buckets all-reduced.</param>
    /// <param name="StartedDuringBackward">How many of them started while backward was still running.</param>
    /// <param name="CommunicationSeconds">The sum of the buckets' all-reduce times.</param>
    /// <param name="OverlappedSeconds">The part of <paramref name="CommunicationSeconds"/> that ran before SynchronizeGradients was called, hidden behind backward.</param>
    /// <param name="SynchronizeSeconds">How long SynchronizeGradients itself took (the communication left exposed, plus copies).</param>
    public sealed record DataParallelStep(int Buckets, int StartedDuringBackward, double CommunicationSeconds, double OverlappedSeconds, double SynchronizeSeconds);
}
