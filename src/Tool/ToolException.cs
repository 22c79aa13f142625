using System;

namespace ModelGen.Tool
{
    /// <summary>A problem with what the user asked for (a missing file, a bad option, a failed build): printed as one message, exit code 2.</summary>
    internal sealed class ToolException : Exception
    {
        public ToolException(string message)
            : base(message)
        {
        }

        public ToolException(string message, Exception inner)
            : base(message, inner)
        {
        }
    }
}
