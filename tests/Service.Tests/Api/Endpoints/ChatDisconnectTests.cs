using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Inference.Hosting;
using Service.Tests.Support;
using Xunit.Abstractions;

namespace Service.Tests.Api.Endpoints;

[Collection(ProcessWideMeters.Name)]
public sealed class ChatDisconnectTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_client_that_leaves_mid_stream_stops_the_generation_and_frees_the_host()
    {
        using var factory = new ServiceFactory();
        var client = await factory.StartedClient();
        var finished = new List<(string Reason, long Tokens)>();
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = ListenToGenerations(finished, ended);

        const int maxTokens = 1900;
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = "demo-tiny-llama", stream = true, max_tokens = maxTokens, temperature = 1.0, seed = 5,
                messages = new[] { new { role = "user", content = "hi" } },
            }),
        };
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            int events = 0;
            while (events < 3 && await reader.ReadLineAsync() is { } line)
                if (line.StartsWith("data: ")) events++;
        } // disposing the response aborts the request

        await ended.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the generation ended, at the scheduler's next step
        var host = factory.Services.GetRequiredService<ModelHost>();
        var scheduler = factory.Services.GetRequiredService<ChatScheduler>();
        await host.RunAsync(_ => 0).WaitAsync(TimeSpan.FromSeconds(30)); // and the host takes other work
        Assert.Equal((0, 0L), (scheduler.RunningCount, scheduler.ReservedBytes));
        lock (finished)
        {
            var (reason, tokens) = Assert.Single(finished);
            output.WriteLine($"generation ended {reason} after {tokens} of {maxTokens} tokens");
            Assert.Equal("cancelled", reason);
            Assert.InRange(tokens, 1, maxTokens - 1);
        }
    }

    static MeterListener ListenToGenerations(List<(string, long)> finished, TaskCompletionSource ended)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GenerationMetrics.MeterName && instrument.Name == "service.generation.tokens") l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "finish_reason")
                {
                    lock (finished) finished.Add(((string)tag.Value!, value));
                    ended.TrySetResult();
                }
        });
        listener.Start();
        return listener;
    }
}
