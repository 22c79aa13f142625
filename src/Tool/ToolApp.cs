using System;
using System.CommandLine;
using System.IO;
using ModelGen.Tool.Commands;
using ModelGen.Tool.Loading;
using ModelGen.Tool.Output;

namespace ModelGen.Tool
{
    /// <summary>The command tree. <see cref="Run"/> is what Program calls, and what tests call with their own writers.</summary>
    internal static class ToolApp
    {
        public static int Run(string[] args, TextWriter output, TextWriter error, IProcessRunner? processes = null, bool ansi = false)
        {
            var context = new ToolContext(output, error, processes, ansi);
            var schema = new Command("schema", "Print the JSON Schema of `modelgen plan --json`.");
            schema.SetAction(_ =>
            {
                output.WriteLine(JsonReport.Schema());
                return 0;
            });
            var root = new RootCommand("ModelGen's memory planner: what a model needs per phase, where it fits, and what to change; and a GPU memory monitor.")
            {
                PlanCommand.Create(context),
                MonitorCommand.Create(context),
                Running.RunCommand.Create(context),
                schema,
            };
            var invocation = new InvocationConfiguration { Output = output, Error = error };
            return root.Parse(args).Invoke(invocation);
        }
    }
}
