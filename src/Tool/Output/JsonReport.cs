using System.IO;
using System.Reflection;
using System.Text.Json;
using ModelGen.Tool.Planning;

namespace ModelGen.Tool.Output
{
    /// <summary>
    /// The plan as JSON for CI: camelCase members, exact byte counts as integers, nulls written out (a null says "no budget").
    /// The layout is <c>Output/plan.schema.json</c> (JSON Schema 2020-12), embedded in the tool and printed by <c>modelgen schema</c>.
    /// </summary>
    internal static class JsonReport
    {
        private static readonly JsonSerializerOptions Options = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            // The output goes to files and terminals, not into HTML: keep quotes and '+' readable.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        public static string Serialize(PlanReport report) => JsonSerializer.Serialize(report, Options);

        /// <summary>The schema the output follows.</summary>
        public static string Schema()
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ModelGen.Tool.plan.schema.json")!;
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }
}
