using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Service.Tests.Deployment;

/// <summary>
/// No Docker engine runs on the build machines, so the compose files are checked here: against the
/// Compose Specification's JSON schema, and for the settings an operator relies on.
/// </summary>
public sealed class ComposeSchemaTests
{
    const string Compose = "compose.yaml", Scale = "docker/compose.scale.yaml", Nginx = "docker/nginx.conf";

    /// <summary>compose.yaml and every compose override under docker/.</summary>
    static string[] ComposeFileNames() =>
    [
        Compose,
        .. Directory.GetFiles(Repository.File("docker"), "compose*.yaml").Order()
            .Select(file => Path.GetRelativePath(Repository.Root, file).Replace('\\', '/')),
    ];

    public static TheoryData<string> ComposeFiles() => new(ComposeFileNames());

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void Compose_files_validate_against_the_compose_specification(string file) =>
        Assert.Empty(ComposeDocument.Load(file).SchemaErrors());

    [Fact]
    public void The_scale_override_is_among_the_validated_files() =>
        Assert.Contains(Scale, ComposeFileNames());

    [Fact]
    public void A_minimal_valid_document_passes_so_the_failures_below_are_real() =>
        Assert.Empty(ComposeDocument.Parse("services: {api: {image: service}}").SchemaErrors());

    [Theory]
    [InlineData("services: {api: {ports: 12}}", "#/services.api.ports: ArrayExpected")]
    [InlineData("services: {api: {image: service}}\nservice: {}", "#/service: NoAdditionalPropertiesAllowed")]
    [InlineData("services: {api: {healthcheck: {test: [CMD, curl], intervall: 5s}}}", "#/services.api.healthcheck.intervall: NoAdditionalPropertiesAllowed")]
    [InlineData("services: {api: {deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: gpu}]}}}}}",
        "#/services.api.deploy.resources.reservations.devices[0].capabilities: ArrayExpected")]
    public void Broken_compose_documents_fail_validation_for_the_right_reason(string yaml, string expected) =>
        Assert.Contains(expected, ComposeDocument.Parse(yaml).SchemaErrors());

    [Fact]
    public void Plain_scalars_are_typed_and_quoted_ones_stay_strings()
    {
        var json = ComposeDocument.Parse("a: 1\nb: '1'\nc: true\nd: 15s\ne: ~").Json;
        Assert.Equal(JsonNode.Parse("""{"a": 1, "b": "1", "c": true, "d": "15s", "e": null}""")!.ToJsonString(), json.ToJsonString());
    }

    [Fact]
    public void Yaml_merge_keys_are_refused_rather_than_silently_kept()
    {
        var error = Assert.Throws<NotSupportedException>(() => ComposeDocument.Parse("x-base: &base {image: a}\nservices: {api: {<<: *base}}"));
        Assert.Contains("merge key", error.Message);
    }

    [Fact]
    public void The_api_reserves_one_nvidia_gpu()
    {
        var devices = ComposeDocument.Load(Compose).Service("api")["deploy"]!["resources"]!["reservations"]!["devices"]!.AsArray();
        var gpu = Assert.Single(devices)!;
        Assert.Equal("nvidia", (string)gpu["driver"]!);
        Assert.Equal(1, (long)gpu["count"]!);
        Assert.Contains("gpu", gpu["capabilities"]!.AsArray().Select(c => (string)c!));
    }

    [Fact]
    public void Models_are_mounted_read_only_and_the_cache_is_a_named_volume()
    {
        var compose = ComposeDocument.Load(Compose);
        var api = compose.Service("api");
        var volumes = api["volumes"]!.AsArray().Select(v => v!.AsObject()).ToList();

        var models = Assert.Single(volumes, v => (string)v["target"]! == "/models");
        Assert.Equal("bind", (string)models["type"]!);
        Assert.True((bool)models["read_only"]!);

        var cache = Assert.Single(volumes, v => (string)v["target"]! == "/var/cache/lrp2");
        Assert.Equal("volume", (string)cache["type"]!);
        Assert.True(compose.Json["volumes"]!.AsObject().ContainsKey((string)cache["source"]!));
        Assert.Equal("/var/cache/lrp2", (string)api["environment"]!["Projection__CacheDirectory"]!);
    }

    [Fact]
    public void Configuration_is_passed_through_environment_variables()
    {
        var environment = ComposeDocument.Load(Compose).Service("api")["environment"]!.AsObject();
        foreach (var key in new[] { "Models__FillMask__Path", "Models__Chat__Path", "Inference__Device", "Inference__DType" })
            Assert.True(environment.ContainsKey(key), $"compose.yaml sets no {key}");
    }

    [Fact]
    public void The_health_check_probes_readiness()
    {
        var api = ComposeDocument.Load(Compose).Service("api");
        var test = api["healthcheck"]!["test"]!.AsArray().Select(t => (string)t!).ToList();
        Assert.Equal("CMD", test[0]);
        Assert.Contains("http://127.0.0.1:8080/health/ready", test);
        Assert.Equal("unless-stopped", (string)api["restart"]!);
    }

    [Fact]
    public void Docker_waits_longer_than_the_service_drains()
    {
        var api = ComposeDocument.Load(Compose).Service("api");
        var drain = TimeSpan.FromSeconds(int.Parse((string)api["environment"]!["DOTNET_SHUTDOWNTIMEOUTSECONDS"]!));
        Assert.True(Duration((string)api["stop_grace_period"]!) > drain, "stop_grace_period must exceed the host's shutdown timeout");
    }

    [Fact]
    public void The_scale_override_runs_replicas_behind_nginx_without_direct_ports()
    {
        var scale = ComposeDocument.Load(Scale);
        var ports = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)scale.Yaml["services"])["api"])["ports"];
        Assert.Equal("!reset", ports.Tag.Value);
        Assert.Empty(ports.Children);
        Assert.NotNull(scale.Service("api")["deploy"]!["replicas"]);

        var proxy = scale.Service("proxy");
        Assert.StartsWith("nginx:", (string)proxy["image"]!);
        var config = Assert.Single(proxy["volumes"]!.AsArray(), v => (string)v!["target"]! == "/etc/nginx/nginx.conf")!;
        Assert.True((bool)config["read_only"]!);
        // Compose resolves an override's paths against the first file's folder: the repository root.
        Assert.Equal(Repository.File(Nginx), Path.GetFullPath(Repository.File((string)config["source"]!)));
    }

    [Fact]
    public void Nginx_balances_by_least_connections_and_streams_unbuffered()
    {
        var conf = string.Join('\n', File.ReadLines(Repository.File(Nginx)).Select(line => line.Split('#')[0]));
        string[] required =
        [
            "least_conn;", "server api:8080 resolve;", "proxy_pass http://api;", "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";", "proxy_buffering off;", "proxy_cache off;",
        ];
        foreach (var directive in required)
            Assert.Matches(@"(^|\s)" + Regex.Escape(directive), conf);
        var readTimeout = Regex.Match(conf, @"proxy_read_timeout\s+(\d+)s;");
        Assert.True(readTimeout.Success && int.Parse(readTimeout.Groups[1].Value) >= 300, "proxy_read_timeout must allow long generations");
    }

    /// <summary>Compose durations such as 75s or 1m30s.</summary>
    static TimeSpan Duration(string text)
    {
        var parts = Regex.Matches(text, @"(\d+)(h|m|s)");
        Assert.Equal(text, string.Concat(parts.Select(p => p.Value)));
        return parts.Aggregate(TimeSpan.Zero, (sum, p) => sum + int.Parse(p.Groups[1].Value) * p.Groups[2].Value switch
        {
            "h" => TimeSpan.FromHours(1),
            "m" => TimeSpan.FromMinutes(1),
            _ => TimeSpan.FromSeconds(1),
        });
    }
}
