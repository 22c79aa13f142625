using System;

namespace ModelGen.Memory
{
    /// <summary>
    /// Thrown when a model has more block instances than the memory model walks one by one, or when one of its memory terms does
    /// not fit 64-bit arithmetic. The analyzers report it as MG0006 instead of running out of memory or printing a wrapped number.
    /// </summary>
    public sealed class ModelTooLargeException : OverflowException
    {
        /// <summary>Creates the exception with a message naming what is too large.</summary>
        public ModelTooLargeException(string message)
            : base(message)
        {
        }
    }
}
