namespace Service.Inference.Projection;

/// <summary>
/// LRP2 language vectors of one language for one model: Layers[k] is the mean over sentences of
/// the mean over each sentence's tokens of the hidden state after layer k (k = 0 embeddings .. L).
/// </summary>
public sealed record LanguageVectors(
    string Language,
    string Model,
    string ModelFingerprint,
    int SentenceCount,
    string CorpusDigest,
    DateTimeOffset Created,
    float[][] Layers)
{
    public int LayerCount => Layers.Length - 1;
    public int HiddenSize => Layers.Length == 0 ? 0 : Layers[0].Length;

    /// <summary>SHA-256 of the sentences (each UTF-8, newline-terminated): names the corpus without storing it.</summary>
    public static string Digest(IEnumerable<string> sentences)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var s in sentences) sha.AppendData(System.Text.Encoding.UTF8.GetBytes(s + "\n"));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
