using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Service.Api.Errors;

namespace Service.Api.Infrastructure;

/// <summary>
/// `Security:*`: API keys, rate limiting, request body limit, CORS and forwarded client addresses.
/// Rejections are thrown as <see cref="ApiRejection"/>s (or, for the body limit, the same
/// <see cref="BadHttpRequestException"/> Kestrel throws), so that <see cref="ApiErrors"/>, the one
/// mapping from failures to HTTP, writes their status, headers and body.
/// </summary>
public static class Security
{
    public static void AddServiceSecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SecurityOptions>().BindConfiguration("Security")
            .Validate(o => o.MaxRequestBodyBytes > 0, "Security:MaxRequestBodyBytes must be positive.")
            .Validate(o => o.RateLimit.TokenLimit <= 0 || (o.RateLimit.TokensPerPeriod > 0 && o.RateLimit.PeriodSeconds > 0),
                "Security:RateLimit:TokensPerPeriod and PeriodSeconds must be positive when TokenLimit is set.")
            .ValidateOnStart();
        services.AddSingleton(sp => new ApiKeys(sp.GetRequiredService<IOptions<SecurityOptions>>().Value.ApiKeys));
        services.AddSingleton(sp => new FailedKeyLimiter(sp.GetRequiredService<IOptions<SecurityOptions>>().Value.FailedKeyLimit));

        // Kestrel's own limit stays as a backstop; the body-limit step below lifts it per request and
        // enforces the limit itself, so that it can read the rest of an oversize body before answering.
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>().Configure<IOptions<SecurityOptions>>((kestrel, security) =>
            kestrel.Limits.MaxRequestBodySize = security.Value.MaxRequestBodyBytes);

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<SecurityOptions>>((cors, security) =>
        {
            if (security.Value.CorsOrigins is { Length: > 0 } origins)
                cors.AddDefaultPolicy(policy => policy.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("Retry-After"));
        });

        services.AddOptions<ForwardedHeadersOptions>().Configure(forwarded =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownIPNetworks.Clear(); // trusted only when Security:TrustForwardedFor says a proxy is in front
            forwarded.KnownProxies.Clear();
        });

        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<SecurityOptions>>((limiter, security) =>
        {
            var options = security.Value;
            var bucket = options.RateLimit;
            if (bucket.TokenLimit <= 0) return;
            var period = TimeSpan.FromSeconds(bucket.PeriodSeconds);
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => IsPublic(context.Request.Path, options)
                ? RateLimitPartition.GetNoLimiter("public")
                : RateLimitPartition.GetTokenBucketLimiter(Client(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = bucket.TokenLimit,
                    TokensPerPeriod = bucket.TokensPerPeriod,
                    ReplenishmentPeriod = period,
                    QueueLimit = 0, // refuse at once: a client that waits should honour Retry-After
                    AutoReplenishment = true,
                }));
            limiter.OnRejected = (rejected, _) => throw new ApiRejection(StatusCodes.Status429TooManyRequests,
                $"This client has used its {bucket.TokenLimit} request burst ({bucket.TokensPerPeriod} more every {bucket.PeriodSeconds:0.###} s); retry after the time in Retry-After.")
            {
                RetryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : period,
            };
        });
    }

    /// <summary>Order: client address, CORS (answers preflights), API key (with its failure limit), rate limit, body limit.</summary>
    public static void UseServiceSecurity(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var keys = app.Services.GetRequiredService<ApiKeys>();
        var failures = app.Services.GetRequiredService<FailedKeyLimiter>();
        if (options.TrustForwardedFor) app.UseForwardedHeaders();
        app.UseCors();
        app.Use((context, next) =>
        {
            if (keys.Enabled && !IsPublic(context.Request.Path, options))
            {
                var address = $"ip:{context.Connection.RemoteIpAddress}";
                failures.ThrowIfExhausted(address); // before the key is checked: a guesser learns nothing more
                try
                {
                    context.User = keys.Authenticate(context.Request.Headers.Authorization);
                }
                catch (ApiRejection e) when (e.Status == StatusCodes.Status401Unauthorized)
                {
                    failures.Count(address);
                    throw;
                }
            }
            return next(context);
        });
        app.UseRateLimiter();
        app.Use((context, next) => RequestBodyLimit.Apply(context, next, options));
    }

    /// <summary>Paths that answer without a key and are not rate limited.</summary>
    public static bool IsPublic(PathString path, SecurityOptions options) =>
        (options.PublicHealth && path.StartsWithSegments("/health"))
        || (options.PublicMetrics && path.StartsWithSegments("/metrics"))
        || (options.PublicSwagger && path.StartsWithSegments("/swagger"));

    /// <summary>Rate-limit partition: the API key's name, else the client address.</summary>
    static string Client(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { } key } ? key : $"ip:{context.Connection.RemoteIpAddress}";
}

/// <summary>Counts requests with a wrong or missing API key per client address (`Security:FailedKeyLimit`).</summary>
public sealed class FailedKeyLimiter(RateLimitOptions bucket)
{
    readonly PartitionedRateLimiter<string>? _limiter = bucket.TokenLimit <= 0 ? null : PartitionedRateLimiter.Create<string, string>(
        client => RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = bucket.TokenLimit,
            TokensPerPeriod = Math.Max(1, bucket.TokensPerPeriod),
            ReplenishmentPeriod = TimeSpan.FromSeconds(bucket.PeriodSeconds > 0 ? bucket.PeriodSeconds : 60),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public void ThrowIfExhausted(string client)
    {
        if (_limiter?.GetStatistics(client) is { CurrentAvailablePermits: <= 0 })
            throw new ApiRejection(StatusCodes.Status429TooManyRequests,
                $"Too many requests with a wrong or missing API key from this client ({bucket.TokenLimit} per {bucket.PeriodSeconds:0.###} s); retry after the time in Retry-After.")
            {
                RetryAfter = TimeSpan.FromSeconds(bucket.PeriodSeconds / Math.Max(1, bucket.TokensPerPeriod)),
            };
    }

    public void Count(string client) => _limiter?.AttemptAcquire(client).Dispose();
}

/// <summary>
/// The configured API keys, kept as SHA-256 digests. A presented key is hashed and compared with
/// every digest by <see cref="CryptographicOperations.FixedTimeEquals"/>: equal-length inputs and no
/// early exit, so the time taken says nothing about how much of a key was right, nor about its length.
/// </summary>
public sealed class ApiKeys(IEnumerable<string> keys)
{
    readonly byte[][] _digests = [.. keys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => Digest(k.Trim()))];

    public bool Enabled => _digests.Length > 0;

    /// <summary>The caller as `api-key-N` (1-based position in Security:ApiKeys); throws Unauthorized otherwise.</summary>
    public ClaimsPrincipal Authenticate(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || authorization.Length == scheme.Length)
            throw new ApiRejection(StatusCodes.Status401Unauthorized, "This service needs an API key: send it as 'Authorization: Bearer <key>'.");
        int index = Match(authorization[scheme.Length..].Trim());
        if (index < 0)
            throw new ApiRejection(StatusCodes.Status401Unauthorized, "The API key is not valid; check the key sent in 'Authorization: Bearer <key>'.");
        return new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, $"api-key-{index + 1}")], "ApiKey"));
    }

    /// <summary>Position of the key among the configured ones, or -1; compares with all of them every time.</summary>
    public int Match(string presented)
    {
        var digest = Digest(presented);
        int match = -1;
        for (int i = 0; i < _digests.Length; i++)
        {
            bool equal = CryptographicOperations.FixedTimeEquals(digest, _digests[i]);
            match = equal ? i : match;
        }
        return match;
    }

    static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
