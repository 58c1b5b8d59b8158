using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Service.Tests.Deployment;

/// <summary>
/// deploy/kubernetes rendered offline with `kubectl kustomize` (no cluster here) and validated against
/// the Kubernetes API schemas by tests/k8s/validate.mjs (kubernetes-models, KEDA's CRD schema).
/// </summary>
public static class KubernetesManifests
{
    public const string Root = "deploy/kubernetes";

    /// <summary>Every kustomization a user applies.</summary>
    public static readonly string[] Applied = ["overlays/gpu", "overlays/cpu", "jobs/evaluate", "jobs/layer-search"];

    public static IReadOnlyList<JsonObject> Render(string kustomization)
    {
        var output = Run("kubectl", ["kustomize", Repository.File($"{Root}/{kustomization}")], stdin: null,
            missing: "kubectl (with its built-in kustomize) is needed to render deploy/kubernetes: install it (e.g. `apt-get install -y kubectl`) and put it on PATH.");
        return [.. output.Split("\n---\n").Where(d => d.Trim().Length > 0).Select(d => ComposeDocument.Parse(d).Json)];
    }

    public static JsonObject Find(this IReadOnlyList<JsonObject> objects, string kind, string name) =>
        objects.SingleOrDefault(o => (string?)o["kind"] == kind && (string?)o["metadata"]?["name"] == name)
        ?? throw new InvalidOperationException($"no {kind} {name} among {string.Join(", ", objects.Select(o => $"{o["kind"]} {o["metadata"]?["name"]}"))}");

    public sealed record SchemaResult(string Kind, string Name, string[] Errors);

    /// <summary>Schema errors per object, as "Kind name: /path message".</summary>
    public static IReadOnlyList<string> SchemaErrors(IEnumerable<JsonNode> objects)
    {
        var checker = Repository.File("tests/k8s/validate.mjs");
        if (!File.Exists(Repository.File("tests/k8s/node_modules/kubernetes-models/package.json")))
            throw new InvalidOperationException("tests/k8s/node_modules is missing: the test build runs `npm ci` there (Node 20+ and npm needed).");
        var output = Run("node", [checker], new JsonArray([.. objects.Select(o => o.DeepClone())]).ToJsonString(),
            missing: "node (20+) is needed to validate deploy/kubernetes against the Kubernetes schemas.");
        var results = JsonSerializer.Deserialize<SchemaResult[]>(output, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        return [.. results.SelectMany(r => r.Errors.Select(e => $"{r.Kind} {r.Name}: {e}"))];
    }

    static string Run(string program, string[] args, string? stdin, string missing)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception) { throw new InvalidOperationException(missing); }
        using (process)
        {
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
                process.StandardInput.Close();
            }
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Result}");
            return output;
        }
    }
}
