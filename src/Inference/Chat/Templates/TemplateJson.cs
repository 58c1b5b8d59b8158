using System.Globalization;

namespace Service.Inference.Chat.Templates;

/// <summary>
/// transformers' `tojson` filter: Python's `json.dumps(value, ensure_ascii=False, indent=indent,
/// separators=separators, sort_keys=sort_keys)` (not jinja2's HTML-safe one), marks of content kept.
/// </summary>
static class TemplateJson
{
    public static TemplateText Serialize(object? value, string? indent, bool ensureAscii, string itemSeparator, string keySeparator, bool sortKeys)
    {
        var b = new TemplateText.Builder();
        Write(b, value, indent, 0, ensureAscii, itemSeparator, keySeparator, sortKeys);
        return b.Build();
    }

    static void Write(TemplateText.Builder b, object? value, string? indent, int level, bool ascii, string itemSep, string keySep, bool sortKeys)
    {
        switch (value)
        {
            case null: b.Append("null"); break;
            case bool x: b.Append(x ? "true" : "false"); break;
            case long l: b.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                b.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : TemplateValues.FloatText(d));
                break;
            case TemplateText t: WriteString(b, t, ascii); break;
            case List<object?> or object?[]:
                {
                    var items = (IReadOnlyList<object?>)value;
                    WriteContainer(b, "[", "]", items.Count, indent, level, itemSep, i => Write(b, items[i], indent, level + 1, ascii, itemSep, keySep, sortKeys));
                    break;
                }
            case TemplateDict dict:
                {
                    var pairs = dict.ToList();
                    if (sortKeys) pairs = [.. pairs.OrderBy(p => p.Key, Comparer<object>.Create(TemplateValues.Compare))];
                    WriteContainer(b, "{", "}", pairs.Count, indent, level, itemSep, i =>
                    {
                        WriteString(b, JsonKey(pairs[i].Key), ascii);
                        b.Append(keySep);
                        Write(b, pairs[i].Value, indent, level + 1, ascii, itemSep, keySep, sortKeys);
                    });
                    break;
                }
            case Undefined u: throw new TemplateRuntimeException($"tojson: '{u.Name}' is undefined (Object of type Undefined is not JSON serializable)");
            default: throw new TemplateRuntimeException($"tojson: Object of type {TemplateValues.TypeName(value)} is not JSON serializable");
        }
    }

    static TemplateText JsonKey(object key) => key switch
    {
        TemplateText t => t,
        bool x => new TemplateText(x ? "true" : "false"),
        long or double => TemplateValues.ToText(key),
        _ => throw new TemplateRuntimeException($"tojson: keys must be str, int, float or bool, not {TemplateValues.TypeName(key)}"),
    };

    static void WriteContainer(TemplateText.Builder b, string open, string close, int count, string? indent, int level, string itemSep, Action<int> item)
    {
        if (count == 0) { b.Append(open + close); return; }
        b.Append(open);
        for (int i = 0; i < count; i++)
        {
            if (i > 0) b.Append(itemSep);
            if (indent is not null) b.Append("\n" + string.Concat(Enumerable.Repeat(indent, level + 1)));
            item(i);
        }
        if (indent is not null) b.Append("\n" + string.Concat(Enumerable.Repeat(indent, level)));
        b.Append(close);
    }

    static void WriteString(TemplateText.Builder b, TemplateText t, bool ascii)
    {
        b.Append("\"");
        for (int i = 0; i < t.Length; i++)
        {
            char c = t.Text[i];
            string piece = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                > '\x7f' when ascii => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            };
            b.Append(piece, t.IsContent(i));
        }
        b.Append("\"");
    }
}
