using System;
using System.IO;
using System.Runtime.CompilerServices;

namespace ModelGen.Generators.Tests;

/// <summary>
/// Approval of generated sources: each case has an approved file Snapshots/{name}.g.cs next to this file.
/// A mismatch writes Snapshots/{name}.received.cs and fails. To approve intended changes run the tests with
/// MODELGEN_APPROVE=1 (it overwrites the approved files), then review the diff in git.
/// </summary>
internal static class Snapshot
{
    public static void Match(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        var folder = Path.Combine(Path.GetDirectoryName(callerPath)!, "Snapshots");
        var approvedPath = Path.Combine(folder, name + ".g.cs");
        var receivedPath = Path.Combine(folder, name + ".received.cs");
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("MODELGEN_APPROVE") == "1")
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(approvedPath, actual);
            File.Delete(receivedPath);
            return;
        }
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).Replace("\r\n", "\n") : null;
        if (approved == actual)
        {
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, actual);
        Assert.Fail(approved is null
            ? $"No approved snapshot {approvedPath}. Review {receivedPath}; approve with MODELGEN_APPROVE=1."
            : $"Generated source differs from {approvedPath}. See {receivedPath} (diff the two); approve with MODELGEN_APPROVE=1.");
    }
}
