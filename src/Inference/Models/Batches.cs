using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Models;

public static class Batches
{
    /// <summary>Right-pads token sequences into ids [B, T] and an attention mask [B, T] (1 = token).</summary>
    public static (Tensor Ids, Tensor Attention) Pad(IReadOnlyList<int[]> sequences, int padId, Device device)
    {
        int width = sequences.Max(s => s.Length);
        var ids = new long[sequences.Count * width];
        var attention = new long[sequences.Count * width];
        for (int b = 0; b < sequences.Count; b++)
        {
            Array.Fill(ids, padId, b * width, width);
            for (int t = 0; t < sequences[b].Length; t++)
            {
                ids[b * width + t] = sequences[b][t];
                attention[b * width + t] = 1;
            }
        }
        return (torch.tensor(ids, [sequences.Count, width], device: device), torch.tensor(attention, [sequences.Count, width], device: device));
    }
}
