using System;

namespace ModelGen.Tool
{
    /// <summary>The <c>modelgen</c> command.</summary>
    internal static class Program
    {
        private static int Main(string[] args) =>
            ToolApp.Run(args, Console.Out, Console.Error, ansi: !Console.IsOutputRedirected);
    }
}
