using Service.Inference.FillMask;

namespace Service.Benchmarks;

/// <summary>Models:FillMask:Weights=int8 beside float32 on the same checkpoint, or why it did not run.</summary>
public sealed record Int8FillMaskReport(string? Skipped, int Masks = 0, int Top1Agreeing = 0, double Top5Overlap = 0, int Float32TopInInt8Top5 = 0,
    double MaxAbsProbabilityDifference = 0, LatencyFigures? Float32 = null, LatencyFigures? Int8 = null, double LoadSeconds = 0);

/// <summary>
/// The reduced-precision fill-mask mode: a second service on the same checkpoint with
/// Models:FillMask:Weights=int8, its top-1 and top-5 against the float32 service over a mask set of
/// real sentences (each word masked in turn), and batch-1 latency in alternating rounds.
/// </summary>
public static class Int8FillMask
{
    public static async Task<Int8FillMaskReport> RunAsync(ServiceUnderTest float32, string checkpointDirectory, BenchmarkSettings settings,
        IReadOnlyList<string> sentences, string query, TextWriter log)
    {
        using var int8 = await ServiceUnderTest.StartAsync(new Dictionary<string, string?>
        {
            ["Models:FillMask:Path"] = checkpointDirectory,
            ["Models:FillMask:Weights"] = "int8",
        });
        var checks = sentences.SelectMany(s => FillMaskBenchmark.MaskWords(s, every: 1)).Append(query).ToList();
        async Task<List<FillMaskResult>> Answers(ServiceUnderTest service) =>
            await service.Host.RunAsync(m => checks.Select(q => m.FillMask!.Run([m.FillMask!.Prepare(new FillMaskQuery(q))])[0]).ToList());
        var exact = await Answers(float32);
        var approximate = await Answers(int8);
        int top1 = 0, topInTop5 = 0;
        double overlap = 0, worst = 0;
        for (int i = 0; i < checks.Count; i++)
        {
            var a = exact[i].Masks[0].Predictions;
            var b = approximate[i].Masks[0].Predictions;
            if (a[0].Token == b[0].Token) top1++;
            if (b.Any(p => p.Token == a[0].Token)) topInTop5++;
            overlap += a.Select(p => p.Token).Intersect(b.Select(p => p.Token)).Count() / (double)a.Count;
            foreach (var p in b.Where(p => a.Any(q => q.Token == p.Token)))
                worst = Math.Max(worst, Math.Abs(p.Score - a.First(q => q.Token == p.Token).Score));
        }
        log.WriteLine($"int8 fill-mask: top-1 agrees with float32 on {top1}/{checks.Count} masks, top-5 overlap {overlap / checks.Count:P0}");

        int rounds = 4, perRound = Math.Max(2, settings.LatencyIterations / rounds);
        var times = new[] { new List<double>(), new List<double>() };
        for (int r = 0; r < rounds; r++)
            foreach (var (service, k) in new[] { (float32, 0), (int8, 1) })
                times[k].AddRange(await service.Host.RunAsync(m => Measure.Times(2, perRound, () => m.FillMask!.Run([m.FillMask!.Prepare(new FillMaskQuery(query))]))));
        static LatencyFigures Figures(List<double> s) => new(Measure.Median(s), Measure.Percentile(s, 95), s.Count);
        log.WriteLine($"Batch 1 in process, p50: float32 {Measure.Median(times[0]):F1} ms, int8 {Measure.Median(times[1]):F1} ms");
        return new Int8FillMaskReport(null, checks.Count, top1, overlap / checks.Count, topInTop5, worst, Figures(times[0]), Figures(times[1]), int8.LoadTime.TotalSeconds);
    }
}
