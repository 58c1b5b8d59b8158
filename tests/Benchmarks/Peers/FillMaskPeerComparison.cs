using System.Diagnostics;
using System.Text.Json;
using Service.Inference.FillMask;
using Service.Inference.Hosting;

namespace Service.Benchmarks.Peers;

/// <summary>Service and ONNX Runtime at one load: the service's 'clients' concurrent HTTP clients against ONNX Runtime's batch of as many rows.</summary>
public sealed record PeerThroughput(int Clients, double ServicePerSecond, double OnnxPerSecond);

/// <summary>ONNX Runtime beside the service on the same fill-mask weights, or why it did not run.</summary>
public sealed record FillMaskPeerReport(string? Skipped, double ExportSeconds = 0, int Checked = 0, int Top5Identical = 0, double MaxAbsProbabilityDifference = 0,
    LatencyFigures? ServiceHttp = null, LatencyFigures? ServiceInProcess = null, LatencyFigures? Onnx = null, IReadOnlyList<PeerThroughput>? Throughput = null, int Rounds = 0);

/// <summary>
/// The fill-mask comparison: the checkpoint exported to ONNX, every check query's top-5 ids and
/// probabilities compared, then batch-1 latency and throughput measured in alternating rounds
/// (service, ONNX Runtime, service, ...) so that whatever else loads the machine hits both alike.
/// </summary>
public static class FillMaskPeerComparison
{
    public static async Task<FillMaskPeerReport> RunAsync(ServiceUnderTest service, string checkpointDirectory, BenchmarkSettings settings,
        IReadOnlyList<string> checkSentences, string query, TextWriter log)
    {
        var work = Directory.CreateTempSubdirectory("bench-onnx-").FullName;
        try
        {
            var (peer, skipped, exportSeconds) = OnnxPeer.OpenFillMask(checkpointDirectory, work);
            if (peer is null)
            {
                log.WriteLine($"ONNX Runtime skipped: {skipped}");
                return new FillMaskPeerReport(skipped);
            }
            using (peer)
            {
                log.WriteLine($"ONNX graph exported in {exportSeconds:F0} s");
                var host = service.Host;
                // Agreement: each check sentence with each word masked in turn, and the benchmark's query.
                var checks = checkSentences.SelectMany(s => FillMaskBenchmark.MaskWords(s, every: 2)).Append(query).ToList();
                var prepared = await host.RunAsync(m => checks.Select(q => m.FillMask!.Prepare(new FillMaskQuery(q))).ToList());
                var results = await host.RunAsync(m => prepared.Select(p => m.FillMask!.Run([p])[0]).ToList());
                int identical = 0;
                double maxDifference = 0;
                for (int i = 0; i < checks.Count; i++)
                {
                    var ours = results[i].Masks[0].Predictions;
                    var probabilities = Softmax(peer.MaskLogits([prepared[i].InputIds], [prepared[i].MaskPositions[0]])[0]);
                    var theirs = Enumerable.Range(0, probabilities.Length).OrderByDescending(k => probabilities[k]).Take(ours.Count).ToArray();
                    if (ours.Select(p => p.Token).SequenceEqual(theirs)) identical++;
                    foreach (var p in ours) maxDifference = Math.Max(maxDifference, Math.Abs(p.Score - probabilities[p.Token]));
                }
                log.WriteLine($"ONNX Runtime agrees on the top-5 ids of {identical}/{checks.Count} masks; max |probability difference| {maxDifference:E1}");

                var english = prepared[^1];
                var body = JsonSerializer.SerializeToUtf8Bytes(new { text = query, top_k = 5 });
                int rounds = 4, perRound = Math.Max(2, settings.LatencyIterations / rounds);
                var http = new List<double>();
                var inProcess = new List<double>();
                var onnx = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    http.AddRange(await Measure.TimesAsync(2, perRound, () => FillMaskBenchmark.Post(service.Http, body)));
                    inProcess.AddRange(await host.RunAsync(m => Measure.Times(2, perRound, () => m.FillMask!.Run([m.FillMask!.Prepare(new FillMaskQuery(query))]))));
                    onnx.AddRange(Measure.Times(2, perRound, () => peer.MaskLogits([english.InputIds], [english.MaskPositions[0]])));
                }
                static LatencyFigures Figures(List<double> s) => new(Measure.Median(s), Measure.Percentile(s, 95), s.Count);
                log.WriteLine($"Batch 1, p50: service HTTP {Measure.Median(http):F1} ms, in process {Measure.Median(inProcess):F1} ms, ONNX Runtime {Measure.Median(onnx):F1} ms");

                var batcher = service.Services.GetService(typeof(FillMaskBatcher)) as FillMaskBatcher
                    ?? throw new InvalidOperationException("The service has no fill-mask batcher.");
                var window = TimeSpan.FromSeconds(Math.Max(0.4, settings.ThroughputDuration.TotalSeconds / 4));
                var throughput = new List<PeerThroughput>();
                foreach (int clients in settings.FillMaskConcurrency)
                {
                    double ours = 0, theirs = 0;
                    var rows = Enumerable.Repeat(english.InputIds, clients).ToArray();
                    var masks = Enumerable.Repeat(english.MaskPositions[0], clients).ToArray();
                    for (int r = 0; r < 2; r++)
                    {
                        ours += (await FillMaskBenchmark.Throughput(service.Http, batcher, clients, window, 0)).PerSecond / 2;
                        peer.MaskLogits(rows, masks);
                        int passes = 0;
                        var clock = Stopwatch.StartNew();
                        while (clock.Elapsed < window) { peer.MaskLogits(rows, masks); passes++; }
                        theirs += passes * clients / clock.Elapsed.TotalSeconds / 2;
                    }
                    throughput.Add(new PeerThroughput(clients, ours, theirs));
                    log.WriteLine($"{clients,2} clients: service {ours:F1} requests/s, ONNX Runtime at batch {clients} {theirs:F1} sentences/s");
                }
                return new FillMaskPeerReport(null, exportSeconds, checks.Count, identical, maxDifference, Figures(http), Figures(inProcess), Figures(onnx), throughput, rounds);
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static double[] Softmax(float[] logits)
    {
        double max = logits.Max();
        var e = logits.Select(l => Math.Exp(l - max)).ToArray();
        double sum = e.Sum();
        return [.. e.Select(x => x / sum)];
    }
}
