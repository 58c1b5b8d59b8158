using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Service.Api.Commands;
using Service.Tests.Support;

namespace Service.Tests.Deployment;

/// <summary>
/// No cluster runs on the build machines, so deploy/kubernetes is checked here: every kustomization
/// renders, every object validates against the Kubernetes API (and KEDA) schemas, and the settings
/// agree with the service itself (probe routes, port, user, configuration keys, metric names, CLI).
/// </summary>
public sealed class KubernetesManifestTests
{
    public static TheoryData<string> Kustomizations() => new(KubernetesManifests.Applied);

    static readonly Lazy<Dictionary<string, IReadOnlyList<JsonObject>>> Rendered =
        new(() => KubernetesManifests.Applied.ToDictionary(k => k, KubernetesManifests.Render));

    static IReadOnlyList<JsonObject> Objects(string kustomization) => Rendered.Value[kustomization];

    static JsonObject Deployment(string overlay) => Objects(overlay).Find("Deployment", "multilingual-service");

    static JsonObject Container(JsonObject workload, string name = "api") =>
        workload["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single(c => (string?)c!["name"] == name)!.AsObject();

    static Dictionary<string, string> Env(JsonObject container) =>
        container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"] ?? "");

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_kustomization_renders_and_validates_against_the_kubernetes_schemas(string kustomization)
    {
        var objects = Objects(kustomization);
        Assert.NotEmpty(objects);
        Assert.Empty(KubernetesManifests.SchemaErrors(objects));
        Assert.All(objects, o => Assert.Equal("multilingual", (string?)o["metadata"]!["namespace"]));
    }

    [Theory]
    [InlineData("Deployment", "/spec/replicas", "\"two\"", "/spec/replicas must be integer")]
    [InlineData("Deployment", "/spec/template/spec/containers/0/ports/0/containerPort", "\"8080\"", "containerPort must be integer")]
    [InlineData("Deployment", "/spec/selector", null, "must have required property selector")]
    [InlineData("ScaledObject", "/spec/scaleTargetRef", null, "must have required property scaleTargetRef")]
    [InlineData("ScaledObject", "/spec/triggers/0/metadata", "\"query\"", "/spec/triggers/0/metadata must be object")]
    [InlineData("PodDisruptionBudget", "/spec/maxUnavailable", "[1]", "/spec/maxUnavailable")]
    [InlineData("Service", "/kind", "\"Servce\"", "no schema for apiVersion 'v1' kind 'Servce'")]
    public void Broken_documents_fail_validation_for_the_right_reason(string kind, string pointer, string? json, string expected)
    {
        var broken = Objects("overlays/gpu").First(o => (string?)o["kind"] == kind).DeepClone().AsObject();
        Set(broken, pointer, json is null ? null : JsonNode.Parse(json));
        var errors = KubernetesManifests.SchemaErrors([broken]);
        Assert.Contains(errors, e => e.Contains(expected));
    }

    // Replaces (or, with null, removes) the value at a JSON pointer.
    static void Set(JsonObject root, string pointer, JsonNode? value)
    {
        var parts = pointer.Trim('/').Split('/');
        JsonNode parent = root;
        foreach (var part in parts[..^1]) parent = parent is JsonArray a ? a[int.Parse(part)]! : parent[part]!;
        if (parent is JsonArray array) array[int.Parse(parts[^1])] = value;
        else if (value is null) parent.AsObject().Remove(parts[^1]);
        else parent[parts[^1]] = value;
    }

    [Fact]
    public async Task Probes_port_and_metric_names_are_the_services_own()
    {
        await using var factory = new ServiceFactory();
        using var client = await factory.StartedClient();
        var metrics = await client.GetStringAsync("/metrics");
        var container = Container(Deployment("overlays/gpu"));
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            var path = (string)container[probe]!["httpGet"]!["path"]!;
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
            Assert.Equal("http", (string?)container[probe]!["httpGet"]!["port"]);
        }
        Assert.Equal("/health/live", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/health/ready", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/health/ready", (string?)container["startupProbe"]!["httpGet"]!["path"]);

        var scaling = Objects("overlays/gpu").Find("ScaledObject", "multilingual-service");
        var queried = scaling["spec"]!["triggers"]!.AsArray().Select(t => (string)t!["metadata"]!["query"]!)
            .SelectMany(q => Regex.Matches(q, @"\binference_[a-z_]+").Select(m => m.Value)).ToArray();
        Assert.Contains("inference_chat_requests_waiting", queried);
        Assert.Contains("inference_kv_cache_usage_ratio", queried);
        Assert.All(queried, name => Assert.Matches(new Regex($@"(?m)^# TYPE {name} gauge$"), metrics));
        Assert.Equal("/metrics", (string?)Deployment("overlays/gpu")["spec"]!["template"]!["metadata"]!["annotations"]!["prometheus.io/path"]);
    }

    [Theory]
    [InlineData("overlays/gpu", "cuda", true)]
    [InlineData("overlays/cpu", "cpu", false)]
    public void The_deployment_matches_the_image_and_the_services_configuration(string overlay, string device, bool gpu)
    {
        var deployment = Deployment(overlay);
        var pod = deployment["spec"]!["template"]!["spec"]!.AsObject();
        var container = Container(deployment);
        var env = Env(container);

        Assert.Equal($"multilingual-service:{device}", (string?)container["image"]);
        Assert.Equal(device, env["Inference__Device"]);
        Assert.Equal(gpu, container["resources"]?["limits"]?["nvidia.com/gpu"] is not null);
        if (gpu) Assert.Equal(1, (long)container["resources"]!["limits"]!["nvidia.com/gpu"]!);

        // the port and user the Dockerfile sets
        var dockerfile = File.ReadAllText(Repository.File("Dockerfile"));
        Assert.Contains("ASPNETCORE_URLS=http://+:8080", dockerfile);
        Assert.Equal(8080, (long)container["ports"]![0]!["containerPort"]!);
        Assert.Equal(Regex.Match(dockerfile, @"APP_UID=(\d+)").Groups[1].Value, (string?)pod["securityContext"]!["runAsUser"]!.ToString());
        Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!);
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);

        // drain: the grace period outlasts the preStop pause plus the host's shutdown timeout
        int drain = int.Parse(env["DOTNET_SHUTDOWNTIMEOUTSECONDS"]);
        var preStop = container["lifecycle"]!["preStop"]!["exec"]!["command"]!.AsArray().Select(c => (string)c!).ToArray();
        Assert.Equal("sleep", preStop[0]);
        Assert.True((long)pod["terminationGracePeriodSeconds"]! > drain + int.Parse(preStop[1]), "terminationGracePeriodSeconds must exceed preStop + drain");
        // model loads: the startup probe waits at least as long as compose's start_period (5 min)
        var startup = container["startupProbe"]!;
        Assert.True((long)startup["periodSeconds"]! * (long)startup["failureThreshold"]! >= 300);

        // every configuration key set through the environment exists in the service's appsettings.json
        var settings = JsonNode.Parse(File.ReadAllText(Repository.File("src/Api/appsettings.json")))!;
        foreach (var name in env.Keys.Where(n => n.Contains("__")))
            Assert.True(name.Split("__").Aggregate((JsonNode?)settings, (node, key) => node?[key]) is not null, $"{name} is not a configuration key of the service");

        // mounts: models read-only, the vector cache where Projection:CacheDirectory points, /tmp writable
        var mounts = container["volumeMounts"]!.AsArray().ToDictionary(m => (string)m!["mountPath"]!, m => m!.AsObject());
        Assert.True((bool)mounts["/models"]["readOnly"]!);
        Assert.Contains(env["Projection__CacheDirectory"], mounts.Keys);
        var volumes = pod["volumes"]!.AsArray().ToDictionary(v => (string)v!["name"]!, v => v!.AsObject());
        Assert.NotNull(volumes[(string)mounts["/tmp"]["name"]!]["emptyDir"]);
        var cacheClaim = (string)volumes[(string)mounts[env["Projection__CacheDirectory"]]["name"]!]["persistentVolumeClaim"]!["claimName"]!;
        Assert.Equal(["ReadWriteMany"], Objects(overlay).Find("PersistentVolumeClaim", cacheClaim)["spec"]!["accessModes"]!.AsArray().Select(m => (string)m!));
    }

    [Fact]
    public void The_service_budget_and_scaler_select_the_deployments_pods()
    {
        var objects = Objects("overlays/gpu");
        var labels = Deployment("overlays/gpu")["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        bool Selects(JsonNode selector) => selector.AsObject().All(kv => (string?)labels[kv.Key] == (string?)kv.Value);
        Assert.True(Selects(objects.Find("Service", "multilingual-service")["spec"]!["selector"]!));
        Assert.True(Selects(objects.Find("PodDisruptionBudget", "multilingual-service")["spec"]!["selector"]!["matchLabels"]!));
        Assert.Equal("http", (string?)objects.Find("Service", "multilingual-service")["spec"]!["ports"]![0]!["targetPort"]);
        var scaled = objects.Find("ScaledObject", "multilingual-service")["spec"]!;
        Assert.Equal("multilingual-service", (string?)scaled["scaleTargetRef"]!["name"]);
        Assert.True((long)scaled["minReplicaCount"]! > (long)objects.Find("PodDisruptionBudget", "multilingual-service")["spec"]!["maxUnavailable"]!,
            "with one replica the budget would block every drain");
    }

    [Theory]
    [InlineData("jobs/evaluate", "lrp2-evaluate")]
    [InlineData("jobs/layer-search", "lrp2-layer-search")]
    public void The_sharded_jobs_run_commands_the_cli_accepts_with_consistent_shard_counts(string kustomization, string job)
    {
        var objects = Objects(kustomization);
        var shards = objects.Find("Job", job);
        var merge = objects.Find("Job", $"{job}-merge");
        Assert.Equal("Indexed", (string?)shards["spec"]!["completionMode"]);
        long n = (long)shards["spec"]!["completions"]!;
        Assert.Equal(n, (long)shards["spec"]!["parallelism"]!);

        var args = Container(shards, "lrp2")["args"]!.AsArray().Select(a => (string)a!).ToArray();
        Assert.Equal("$(JOB_COMPLETION_INDEX)", args[Array.IndexOf(args, "--shard") + 1]);
        Assert.Equal(n.ToString(), args[Array.IndexOf(args, "--shards") + 1]);
        var wait = (string)merge["spec"]!["template"]!["spec"]!["initContainers"]![0]!["command"]!.AsArray()[^1]!;
        Assert.Contains($"-of-{n}.json", wait);
        Assert.Contains($"-ge {n} ]", wait);

        // the real command line parses both (the mLAMA path is checked for existence: point it at a real directory)
        var mlama = Path.Combine(AppContext.BaseDirectory, "Fixtures", "mlama-mini");
        for (int k = 0; k < n; k++)
        {
            var concrete = args.Select(a => a == "$(JOB_COMPLETION_INDEX)" ? $"{k}" : a == "/data/mlama" ? mlama : a).ToArray();
            Assert.Empty(Lrp2Command.Parse(concrete).Errors);
        }
        Assert.Empty(Lrp2Command.Parse([.. Container(merge, "lrp2")["args"]!.AsArray().Select(a => (string)a!)]).Errors);

        // the data the shards read is mounted read-only; the results volume is shared
        var mounts = Container(shards, "lrp2")["volumeMounts"]!.AsArray().ToDictionary(m => (string)m!["mountPath"]!, m => m!.AsObject());
        Assert.True((bool)mounts["/data/mlama"]["readOnly"]!);
        Assert.True((bool)mounts["/models"]["readOnly"]!);
        Assert.Equal("ReadWriteMany", (string?)objects.Find("PersistentVolumeClaim", "lrp2-results")["spec"]!["accessModes"]![0]);
    }
}
