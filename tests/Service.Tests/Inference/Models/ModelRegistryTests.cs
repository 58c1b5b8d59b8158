using System.Text.Json.Nodes;
using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Tests.Support;

namespace Service.Tests.Inference.Models;

/// <summary>config.json's architectures (or, without them, model_type) choose the family; nothing else sniffs.</summary>
public sealed class ModelRegistryTests
{
    static string Fixture(string name) => name.Contains("llama") || name.Contains("qwen") || name.Contains("chatglm")
        ? Path.Combine(Fixtures.Dir("chat"), name)
        : name == "bloom-tiny" ? Path.Combine(Fixtures.Dir("bloom"), name) : Fixtures.Dir(name);

    [Theory]
    [InlineData("bert-tiny", ModelSlot.Probe, "bert")]
    [InlineData("xlmr-tiny", ModelSlot.Probe, "xlm-roberta")]
    [InlineData("bloom-tiny", ModelSlot.Probe, "bloom")]
    [InlineData("llama-tiny", ModelSlot.Chat, "llama")]
    [InlineData("qwen2-tiny-bf16", ModelSlot.Chat, "qwen2")]
    [InlineData("chatglm-tiny-f16", ModelSlot.Chat, ModelRegistry.ChatGlm)]
    public void The_fixtures_checkpoints_find_their_family(string fixture, ModelSlot slot, string family) =>
        Assert.Equal(family, ModelRegistry.Find(CheckpointDirectory.Open(Fixture(fixture)), slot).Name);

    [Fact]
    public void Without_architectures_model_type_decides()
    {
        var dir = WithConfig("bert-tiny", config => { config.Remove("architectures"); config["model_type"] = "xlm-roberta"; });
        Assert.Equal("xlm-roberta", ModelRegistry.Find(CheckpointDirectory.Open(dir), ModelSlot.Probe).Name);
    }

    [Fact]
    public void An_unknown_architecture_is_an_error_that_lists_what_the_slot_serves()
    {
        var dir = WithConfig("bert-tiny", config => config["architectures"] = new JsonArray("GPT2LMHeadModel"));
        var error = Assert.Throws<CheckpointException>(() => ModelRegistry.Find(CheckpointDirectory.Open(dir), ModelSlot.Probe));
        Assert.Contains("GPT2LMHeadModel", error.Message);
        Assert.Contains("XLMRobertaForMaskedLM", error.Message);
        Assert.DoesNotContain("LlamaForCausalLM", error.Message);
    }

    [Fact]
    public void A_family_serves_only_its_slots()
    {
        var bloom = CheckpointDirectory.Open(Fixture("bloom-tiny"));
        Assert.Throws<CheckpointException>(() => ModelRegistry.Find(bloom, ModelSlot.Chat));
        Assert.All(ModelRegistry.Families, f => Assert.True(f.Serves(ModelSlot.Probe) || f.Serves(ModelSlot.Chat), f.Name));
    }

    static string WithConfig(string fixture, Action<JsonObject> change)
    {
        var dir = Fixtures.CopyToTemp(fixture);
        var file = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        change(config);
        File.WriteAllText(file, config.ToJsonString());
        return dir;
    }
}
