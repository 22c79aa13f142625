using System;

namespace ModelGen.Loading
{
    /// <summary>What is wrong with a checkpoint file itself, as opposed to its fit to a model.</summary>
    public enum CheckpointProblem
    {
        /// <summary>The file ends before the data its header promises.</summary>
        Truncated = 0,
        /// <summary>The header (safetensors JSON, index JSON, zip directory or pickle) cannot be read or is inconsistent.</summary>
        BadHeader = 1,
        /// <summary>A tensor's element type is one ModelGen cannot hold (e.g. 8-bit floats) or does not know.</summary>
        UnsupportedDType = 2,
        /// <summary>A file the checkpoint needs (a shard named by the index) does not exist.</summary>
        MissingFile = 3,
    }

    /// <summary>A checkpoint file that cannot be read; <see cref="Problem"/> says which way it is broken.</summary>
    public sealed class CheckpointFormatException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="problem">What kind of problem.</param>
        /// <param name="path">The file.</param>
        /// <param name="detail">What exactly was found.</param>
        public CheckpointFormatException(CheckpointProblem problem, string path, string detail)
            : base($"{Title(problem)} '{path}': {detail}")
        {
            Problem = problem;
            Path = path;
        }

        /// <summary>What kind of problem.</summary>
        public CheckpointProblem Problem { get; }

        /// <summary>The file.</summary>
        public string Path { get; }

        private static string Title(CheckpointProblem problem) => problem switch
        {
            CheckpointProblem.Truncated => "Truncated checkpoint",
            CheckpointProblem.BadHeader => "Unreadable checkpoint header in",
            CheckpointProblem.UnsupportedDType => "Unsupported tensor dtype in",
            _ => "Missing checkpoint file for",
        };
    }
}
