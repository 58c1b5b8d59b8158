using System.Text.Json;

namespace Service.Inference.Probes;

/// <summary>
/// Reads the official mLAMA layout (Kassner et al. 2021): `mlama1.1/{lang}/templates.jsonl`
/// (relation, template with [X] and [Y]), `mlama1.1/{lang}/{relation}.jsonl` (sub_label,
/// obj_label, lineid: the same triple id across languages) and
/// `TREx_multilingual_objects/{lang}.json` ({relation: {"objects": [...]}}, the typed candidates).
/// The root may be the folder holding `mlama1.1` or `mlama1.1` itself.
/// </summary>
public static class MlamaReader
{
    public static IReadOnlyList<ProbeFact> Read(string root, string language, IReadOnlyCollection<string>? relations = null)
    {
        var data = Directory.Exists(Path.Combine(root, "mlama1.1")) ? Path.Combine(root, "mlama1.1") : root;
        var candidatesFile = new[] { Path.Combine(root, "TREx_multilingual_objects", $"{language}.json"), Path.Combine(data, "..", "TREx_multilingual_objects", $"{language}.json") }
            .FirstOrDefault(File.Exists) ?? throw new FileNotFoundException($"no TREx_multilingual_objects/{language}.json under {root}");
        using var candidatesJson = JsonDocument.Parse(File.ReadAllBytes(candidatesFile));
        var templatesFile = Path.Combine(data, language, "templates.jsonl");
        if (!File.Exists(templatesFile)) throw new FileNotFoundException($"no {language}/templates.jsonl under {data}");

        var facts = new List<ProbeFact>();
        foreach (var template in JsonLines(templatesFile))
        {
            var relation = template.GetProperty("relation").GetString()!;
            var factsFile = Path.Combine(data, language, $"{relation}.jsonl");
            if (relations is not null && !relations.Contains(relation)) continue;
            if (!File.Exists(factsFile) || !candidatesJson.RootElement.TryGetProperty(relation, out var pool)) continue;
            var candidates = pool.GetProperty("objects").EnumerateArray().Select(o => o.GetString()!).Distinct().ToArray();
            int line = 0;
            foreach (var triple in JsonLines(factsFile))
            {
                var id = triple.TryGetProperty("lineid", out var lineId) ? lineId.ToString() : line.ToString();
                facts.Add(new ProbeFact($"{relation}#{id}", relation, language, template.GetProperty("template").GetString()!,
                    triple.GetProperty("sub_label").GetString()!, triple.GetProperty("obj_label").GetString()!, candidates));
                line++;
            }
        }
        return facts;
    }

    static IEnumerable<JsonElement> JsonLines(string file)
    {
        foreach (var line in File.ReadLines(file))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.Clone();
        }
    }
}
