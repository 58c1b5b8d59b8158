using Microsoft.AspNetCore.Http.Features;

namespace Service.Api.Infrastructure;

/// <summary>
/// `Security:MaxRequestBodyBytes`, enforced here rather than by Kestrel. Kestrel answers an oversize
/// body and then closes the connection with unread bytes in it, which the TCP stack turns into a
/// reset: a client still sending (Python's urllib sends the whole body before reading) sees
/// "connection reset" instead of the 413. So the rest of the body (up to
/// `Security:MaxDiscardedBodyBytes`) is read and discarded, then the 413 goes out with
/// `Connection: close`.
/// </summary>
static class RequestBodyLimit
{
    public static async Task Apply(HttpContext context, RequestDelegate next, SecurityOptions options)
    {
        long max = options.MaxRequestBodyBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrel)
            kestrel.MaxRequestBodySize = context.Request.ContentLength > max ? null : max + options.MaxDiscardedBodyBytes;
        if (context.Request.ContentLength > max)
        {
            await Discard(context, context.Request.Body, options.MaxDiscardedBodyBytes);
            throw TooLarge(context, max);
        }
        var limited = new LimitedStream(context.Request.Body, max);
        context.Request.Body = limited;
        try
        {
            await next(context);
        }
        catch (Exception) when (limited.Exceeded && !context.Response.HasStarted)
        {
            await Discard(context, limited.Inner, options.MaxDiscardedBodyBytes);
            throw TooLarge(context, max);
        }
        if (limited.Exceeded && !context.Response.HasStarted) // a handler that answered the 413 itself
        {
            context.Response.Headers.Connection = "close";
            await Discard(context, limited.Inner, options.MaxDiscardedBodyBytes);
        }
    }

    static BadHttpRequestException TooLarge(HttpContext context, long max)
    {
        context.Response.Headers.Connection = "close";
        return new BadHttpRequestException($"Request body too large: at most {max} bytes.", StatusCodes.Status413PayloadTooLarge);
    }

    static async Task Discard(HttpContext context, Stream body, long budget)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while (budget > 0 && (read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, budget)), context.RequestAborted)) > 0)
                budget -= read;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // the client stopped sending or went away: answer with what we have
        }
    }

    /// <summary>The request body, throwing Kestrel's own 413 exception once more than the limit was read.</summary>
    sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        long _read;
        public Stream Inner => inner;
        public bool Exceeded { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        int Counted(int read)
        {
            _read += read;
            if (_read > limit)
            {
                Exceeded = true;
                throw new BadHttpRequestException($"Request body too large: at most {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            }
            return read;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
