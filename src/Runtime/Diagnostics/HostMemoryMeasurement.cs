namespace ModelGen
{
    /// <summary>What <see cref="MemoryMonitor.Measure"/> saw: resident bytes before the step and at its peak.</summary>
    /// <param name="BaselineBytes">Resident bytes just before the step.</param>
    /// <param name="PeakBytes">The highest resident bytes while the step ran.</param>
    public readonly record struct HostMemoryMeasurement(long BaselineBytes, long PeakBytes)
    {
        /// <summary>How far the step rose above its baseline: the memory the step itself needed at its worst.</summary>
        public long PeakAboveBaselineBytes => PeakBytes - BaselineBytes;

        /// <summary>Deconstructs into <c>(baseline, peak, peakAboveBaseline)</c>.</summary>
        /// <param name="baseline">Resident bytes just before the step.</param>
        /// <param name="peak">The highest resident bytes while the step ran.</param>
        /// <param name="peakAboveBaseline">The difference of the two.</param>
        public void Deconstruct(out long baseline, out long peak, out long peakAboveBaseline)
        {
            baseline = BaselineBytes;
            peak = PeakBytes;
            peakAboveBaseline = PeakAboveBaselineBytes;
        }
    }
}
