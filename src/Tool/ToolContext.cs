using System;
using System.IO;
using ModelGen.Tool.Loading;
using Spectre.Console;

namespace ModelGen.Tool
{
    /// <summary>Where the commands write and what they run, so tests can capture output and replace the process runner.</summary>
    internal sealed class ToolContext
    {
        /// <summary>Exit code for a usage or input problem (the message says which).</summary>
        public const int UsageError = 2;

        public ToolContext(TextWriter output, TextWriter error, IProcessRunner? processes = null, bool ansi = false)
        {
            Out = output;
            Error = error;
            Processes = processes ?? new ProcessRunner();
            Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output),
                Ansi = ansi ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = ansi ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            if (!ansi)
                Console.Profile.Width = 160; // a fixed width so captured tables do not depend on the terminal
        }

        public TextWriter Out { get; }

        public TextWriter Error { get; }

        public IAnsiConsole Console { get; }

        public IProcessRunner Processes { get; }

        /// <summary>Runs a command; a <see cref="ToolException"/> becomes one line on standard error and exit code 2.</summary>
        public int Guard(Func<int> command)
        {
            try
            {
                return command();
            }
            catch (ToolException e)
            {
                Error.WriteLine("modelgen: " + e.Message);
                return UsageError;
            }
        }
    }
}
