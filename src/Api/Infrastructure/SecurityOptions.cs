namespace Service.Api.Infrastructure;

/// <summary>`Security:*` configuration. The defaults suit one service on a private network; set keys before exposing it.</summary>
public sealed class SecurityOptions
{
    /// <summary>Accepted API keys, sent as `Authorization: Bearer &lt;key&gt;`; empty (the default) leaves the API open.</summary>
    public string[] ApiKeys { get; set; } = [];

    /// <summary>`/health/*` answers without a key (compose and orchestrators probe it).</summary>
    public bool PublicHealth { get; set; } = true;

    /// <summary>`/metrics` answers without a key (Prometheus scrapes it).</summary>
    public bool PublicMetrics { get; set; } = true;

    /// <summary>`/swagger` (UI and OpenAPI document) answers without a key.</summary>
    public bool PublicSwagger { get; set; } = true;

    /// <summary>Origins allowed to call the API from a browser; empty (the default) sends no CORS headers, so browsers refuse.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>Largest request body in bytes; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Take the client address from `X-Forwarded-For` (only behind a proxy that sets it, such as docker/nginx.conf).</summary>
    public bool TrustForwardedFor { get; set; }

    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>
    /// A token bucket per client address for requests with a wrong or missing API key (only when keys
    /// are set): once empty, the client gets 429 without its key being checked, so keys cannot be guessed
    /// at speed. 0 turns it off.
    /// </summary>
    public RateLimitOptions FailedKeyLimit { get; set; } = new() { TokenLimit = 10, TokensPerPeriod = 10, PeriodSeconds = 60 };

    /// <summary>
    /// Of a body over <see cref="MaxRequestBodyBytes"/>, up to this many bytes are read and discarded
    /// before the 413 is sent and the connection closed, so that clients that send the whole body
    /// before reading (Python's urllib) receive the 413 instead of a connection reset.
    /// </summary>
    public long MaxDiscardedBodyBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>`Security:RateLimit:*`: a token bucket per API key (per client address when keys are off).</summary>
public sealed class RateLimitOptions
{
    /// <summary>Bucket size: requests a client may send in a burst. 0 turns rate limiting off.</summary>
    public int TokenLimit { get; set; } = 100;

    /// <summary>Tokens put back every period.</summary>
    public int TokensPerPeriod { get; set; } = 20;

    /// <summary>Length of the replenishment period in seconds.</summary>
    public double PeriodSeconds { get; set; } = 1;
}
