using TorchSharp;

namespace Service.Tests.Support;

/// <summary>Compares a module's state-dict keys and shapes with the approved list Approved/{name}.keys.txt.</summary>
public static class ApprovedKeys
{
    public static void Check(torch.nn.Module model, string name)
    {
        var actual = model.state_dict().Select(p => $"{p.Key} [{string.Join(", ", p.Value.shape)}]").Order(StringComparer.Ordinal);
        var approved = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Approved", $"{name}.keys.txt"));
        Assert.Equal(approved, actual);
    }
}
