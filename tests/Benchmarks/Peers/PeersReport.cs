using System.Text;

namespace Service.Benchmarks.Peers;

/// <summary>The peers section of BENCHMARKS.md: the service beside ONNX Runtime and llama.cpp, with ratios.</summary>
public static class PeersReport
{
    public static void Append(StringBuilder md, FillMaskReport fillMask, IReadOnlyList<ChatReport> chats)
    {
        md.AppendLine(BenchmarkReport.PeersSection);
        md.AppendLine();
        md.AppendLine("What users could run instead, in this process, on the same random weights, after the service's own figures above (so their " +
            "memory does not count in the service's peaks), measured in alternating rounds with the service so that other load on the machine " +
            "hits both alike; one intra-op thread per core for every engine.");
        md.AppendLine();
        var p = fillMask.Peer;
        md.AppendLine("### Fill-mask: ONNX Runtime");
        md.AppendLine();
        if (p.Skipped is not null)
            md.AppendLine($"Not run: {p.Skipped}.");
        else
        {
            md.AppendLine($"ONNX Runtime 1.31.1 (NuGet `Microsoft.ML.OnnxRuntime`, CPU provider, ORT_ENABLE_ALL) on a graph exported from the same checkpoint by " +
                $"Debian's PyTorch (`tests/Benchmarks/Peers/export_bert_onnx.py`, opset 12, {p.ExportSeconds:F0} s), the head computed at the mask only, as the service does. " +
                $"Results agree: the top-5 ids are identical for **{p.Top5Identical}/{p.Checked}** masks (each check sentence with every other word masked, and the query); " +
                $"largest absolute difference of a top-5 probability {p.MaxAbsProbabilityDifference:E1}.");
            md.AppendLine();
            md.AppendLine("| batch-1 latency, same 16-token query | p50 ms | p95 ms | p50 / ONNX Runtime's |");
            md.AppendLine("|---|---|---|---|");
            foreach (var (name, l) in new[] { ("service over HTTP (POST /v1/fill-mask)", p.ServiceHttp!), ("service in process (FillMaskEngine Prepare + Run)", p.ServiceInProcess!), ("ONNX Runtime in process (session.Run)", p.Onnx!) })
                md.AppendLine($"| {name} | {l.P50Ms:F1} | {l.P95Ms:F1} | {l.P50Ms / p.Onnx!.P50Ms:F2}x |");
            md.AppendLine();
            md.AppendLine($"Latency samples: {p.Rounds} alternating rounds of {p.Onnx!.Samples / p.Rounds} per engine.");
            md.AppendLine();
            md.AppendLine("| load | service: concurrent HTTP clients, requests/s | ONNX Runtime: one batch of as many rows, sentences/s | service / ONNX Runtime |");
            md.AppendLine("|---|---|---|---|");
            foreach (var t in p.Throughput!)
                md.AppendLine($"| {t.Clients} | {t.ServicePerSecond:F1} | {t.OnnxPerSecond:F1} | {t.ServicePerSecond / t.OnnxPerSecond:F2}x |");
            md.AppendLine();
            md.AppendLine("Each load ran two alternating windows per engine. ONNX Runtime's figure has no HTTP, JSON, tokenization or batching wait in it: it is the engine alone.");
        }
        md.AppendLine();
        md.AppendLine("### Chat: llama.cpp");
        md.AppendLine();
        var ran = chats.Where(c => c.Peer.Skipped is null).ToList();
        foreach (var c in chats.Where(c => c.Peer.Skipped is not null))
            md.AppendLine($"{c.DType}: not run: {c.Peer.Skipped}.");
        if (ran.Count > 0)
        {
            md.AppendLine("llama.cpp through NuGet `LLamaSharp` + `LLamaSharp.Backend.Cpu` 0.30.0, on a GGUF written from the same checkpoint in the served dtype " +
                "(`tests/Benchmarks/Peers/QwenGguf.cs`: qwen2 keys as llama.cpp's convert_hf_to_gguf.py writes them; norms and biases float32 as the converter keeps them). " +
                "Both engines get the same prompt ids and decode greedily (argmax) with no end-of-sequence stop; the service runs its own generation loop " +
                "(`GenerationLoop.Run`, what `ChatEngine.Generate` calls). Decode figures: medians of the rounds after a warm-up round, tokens after the first / time after the first.");
            md.AppendLine();
            md.AppendLine("| dtype | greedy tokens agreeing (prefix / positions) | decode service tokens/s | decode llama.cpp tokens/s | service / llama.cpp | prefill service tokens/s | prefill llama.cpp tokens/s | service / llama.cpp |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var c in ran)
            {
                var r = c.Peer;
                md.AppendLine($"| {c.DType} | {r.AgreeingPrefix}/{r.GreedyTokens} / {r.AgreeingPositions}/{r.GreedyTokens} | {r.ServiceDecodeP50:F2} | {r.PeerDecodeP50:F2} | {r.ServiceDecodeP50 / r.PeerDecodeP50:F2}x | " +
                    $"{r.ServicePrefillTokensPerSecond:F0} | {r.PeerPrefillTokensPerSecond:F0} | {r.ServicePrefillTokensPerSecond / r.PeerPrefillTokensPerSecond:F2}x |");
            }
            md.AppendLine();
            md.AppendLine($"Decode rounds: {ran[0].Peer.ServiceDecode!.Count} per engine of {ran[0].Peer.GreedyTokens} tokens after the short prompt; " +
                $"prefill: the {ran[0].Peer.PromptTokens}-token prompt, {ran[0].Peer.ServicePrefillMs!.Count} alternating run(s) per engine.");
        }
        md.AppendLine();
    }
}
