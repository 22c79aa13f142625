using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>
    /// A checkpoint opened for reading: its tensors' names, dtypes and shapes are known up front (from the header, index or
    /// pickle), and each tensor's data is read on request, one at a time, so a loader never holds more than one of them.
    /// </summary>
    public interface IWeightSource : IDisposable
    {
        /// <summary>Every tensor in the checkpoint, in file order.</summary>
        IReadOnlyList<CheckpointTensor> Tensors { get; }

        /// <summary>Where the tensors come from (a path), for messages.</summary>
        string Description { get; }

        /// <summary>Reads one tensor into a new CPU tensor of its stored dtype and shape; the caller owns it.</summary>
        /// <param name="name">A name from <see cref="Tensors"/>.</param>
        /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
        /// <exception cref="CheckpointFormatException">The file changed or broke after it was opened.</exception>
        Tensor Read(string name);

        /// <summary>
        /// Reads one tensor straight into <paramref name="destination"/>'s memory when that needs no reshaping (a contiguous CPU
        /// tensor of the stored element count, of the stored dtype or, for a floating tensor, another floating dtype, converted
        /// through a small temporary), so no full-size copy exists; returns false (and writes nothing) otherwise.
        /// </summary>
        bool TryReadInto(string name, Tensor destination);
    }
}
