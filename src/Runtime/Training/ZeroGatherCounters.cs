using System.Threading;

namespace ModelGen.Training
{
    /// <summary>
    /// What the ZeRO-3 all-gathers of one step cost, for <see cref="ZeroStage3.LastStep"/>: how many there were, how many came
    /// from the prefetch thread, and how much of their time the training thread spent waiting.
    /// </summary>
    /// <param name="Gathers">Layer gathers (forward and backward, every unit).</param>
    /// <param name="Prefetched">Those whose all-gather ran ahead on the prefetch thread.</param>
    /// <param name="BlockingSeconds">Time of the gathers the training thread ran itself (not prefetched).</param>
    /// <param name="PrefetchSeconds">Time the prefetched gathers took on the prefetch thread.</param>
    /// <param name="WaitedSeconds">Time the training thread waited for prefetched gathers to finish (the part not hidden).</param>
    public sealed record ZeroGatherReport(int Gathers, int Prefetched, double BlockingSeconds, double PrefetchSeconds, double WaitedSeconds)
    {
        /// <summary>Gather time hidden behind compute: prefetch time minus the time waited for it.</summary>
        public double HiddenSeconds => System.Math.Max(0, PrefetchSeconds - WaitedSeconds);
    }

    /// <summary>Counts the gathers of one step; every unit of a <see cref="ZeroStage3"/> reports here (training thread only).</summary>
    internal sealed class ZeroGatherCounters
    {
        private int _gathers, _prefetched;
        private double _blocking, _prefetch, _waited;

        internal void Blocking(double seconds)
        {
            _gathers++;
            _blocking += seconds;
        }

        internal void Prefetched(double gatherSeconds, double waitedSeconds)
        {
            _gathers++;
            _prefetched++;
            _prefetch += gatherSeconds;
            _waited += waitedSeconds;
        }

        /// <summary>The counts so far, then zero.</summary>
        internal ZeroGatherReport TakeReport()
        {
            var report = new ZeroGatherReport(_gathers, _prefetched, _blocking, _prefetch, _waited);
            _gathers = _prefetched = 0;
            _blocking = _prefetch = _waited = 0;
            return report;
        }
    }
}
