using System.ComponentModel.DataAnnotations;

namespace Service.Inference.Chat;

/// <summary>`Chat:Batching:*` configuration.</summary>
public sealed class ChatBatchingOptions
{
    /// <summary>Sequences decoded together in one step.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 8;
    /// <summary>Prompt tokens run per step (over all newcomers) while other streams are decoding, so they keep flowing.</summary>
    [Range(1, int.MaxValue)]
    public int PrefillChunkTokens { get; set; } = 128;
    /// <summary>
    /// Memory for keys and values of all running sequences together. A request reserves its prompt
    /// plus max_tokens positions when it starts; one that does not fit waits for others to finish.
    /// </summary>
    [Range(0.0, double.MaxValue)]
    public double KvCacheBudgetMB { get; set; } = 1024;
    /// <summary>
    /// Automatic prefix caching: finished requests' keys and values stay in the KV budget (least recently used
    /// evicted first when a request needs room) and a prompt starting with the same tokens runs only the rest.
    /// Ignored for models whose cached prompt depends on later tokens (ChatGLM).
    /// </summary>
    public bool PrefixCaching { get; set; } = true;
    /// <summary>Requests that may wait to start; beyond this the service answers 429.</summary>
    [Range(1, int.MaxValue)]
    public int MaxWaiting { get; set; } = 64;
}
