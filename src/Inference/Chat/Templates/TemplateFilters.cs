using System.Globalization;
using static Service.Inference.Chat.Templates.TemplateValues;

namespace Service.Inference.Chat.Templates;

/// <summary>jinja2's built-in filters that chat templates use, with transformers' `tojson`.</summary>
sealed partial class TemplateEvaluator
{
    object? ApplyFilter(string name, object? value, IReadOnlyList<Expr> args, IReadOnlyList<(string Name, Expr Value)> kwargs, TemplateScope scope)
    {
        var a = args.Select(x => Evaluate(x, scope)).ToList();
        var k = kwargs.ToDictionary(x => x.Name, x => Evaluate(x.Value, scope));
        return Filter(name, value, a, k);
    }

    /// <summary>Argument <paramref name="i"/> by position or by <paramref name="name"/>, else the default.</summary>
    static object? Arg(IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k, int i, string name, object? fallback = null) =>
        i < a.Count ? a[i] : k.TryGetValue(name, out var v) ? v : fallback;

    object? Filter(string name, object? value, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        switch (name)
        {
            case "trim":
                return ToText(value).Strip(Arg(a, k, 0, "chars") is TemplateText chars ? chars.Text : null, true, true);
            case "upper": return ToText(value).Map(t => t.ToUpperInvariant());
            case "lower": return ToText(value).Map(t => t.ToLowerInvariant());
            case "title": return TemplateStrings.TitleFilter(ToText(value));
            case "capitalize": return TemplateStrings.Capitalize(ToText(value));
            case "replace":
                return TemplateStrings.Replace(ToText(value), ToText(Arg(a, k, 0, "old")), ToText(Arg(a, k, 1, "new")), Arg(a, k, 2, "count") is long n ? n : -1);
            case "length" or "count":
                return value switch
                {
                    TemplateText t => (long)t.CodePointCount,
                    TemplateDict d => (long)d.Count,
                    Undefined => 0L,
                    System.Collections.ICollection c => (long)c.Count,
                    _ => throw new TemplateRuntimeException($"object of type '{TypeName(value)}' has no len()"),
                };
            case "string": return ToText(value);
            case "safe": return value;
            case "e" or "escape": return Escape(ToText(value));
            case "tojson": return ToJson(value, a, k);
            case "join":
                {
                    var items = Iterate(value);
                    if (Arg(a, k, 1, "attribute") is { } attribute) items = [.. items.Select(i => Attribute(i, attribute))];
                    return TemplateStrings.Join(Arg(a, k, 0, "d") is TemplateText sep ? sep : TemplateText.Empty, items.Select(ToText));
                }
            case "first":
                {
                    var items = Iterate(value);
                    return items.Count > 0 ? items[0] : new Undefined("first item of an empty sequence");
                }
            case "last":
                {
                    var items = Iterate(value);
                    return items.Count > 0 ? items[^1] : new Undefined("last item of an empty sequence");
                }
            case "list": return Iterate(value).ToList();
            case "reverse":
                return value is TemplateText text
                    ? text.CodePoints().Reverse().Aggregate(new TemplateText.Builder(), (b, c) => b.Append(c)).Build()
                    : Iterate(value).Reverse().ToList();
            case "items":
                return value switch
                {
                    Undefined => new List<object?>(),
                    TemplateDict d => d.Select(p => (object?)new object?[] { p.Key, p.Value }).ToList(),
                    _ => throw new TemplateRuntimeException($"items: {TypeName(value)} is not a mapping"),
                };
            case "dictsort":
                {
                    if (value is not TemplateDict d) throw new TemplateRuntimeException($"dictsort: {TypeName(value)} is not a mapping");
                    bool byValue = Arg(a, k, 1, "by") is TemplateText { Text: "value" };
                    bool caseSensitive = Truthy(Arg(a, k, 0, "case_sensitive", false));
                    var pairs = d.Select(p => new object?[] { p.Key, p.Value }).ToList();
                    var sorted = pairs.OrderBy(p => SortKey(byValue ? p[1] : p[0], caseSensitive), Comparer<object?>.Create(TemplateValues.Compare));
                    var result = (Truthy(Arg(a, k, 2, "reverse", false)) ? sorted.Reverse() : sorted).Cast<object?>().ToList();
                    return result;
                }
            case "sort":
                {
                    bool reverse = Truthy(Arg(a, k, 0, "reverse", false)), caseSensitive = Truthy(Arg(a, k, 1, "case_sensitive", false));
                    var attribute = Arg(a, k, 2, "attribute");
                    var sorted = Iterate(value).OrderBy(i => SortKey(attribute is null ? i : Attribute(i, attribute), caseSensitive), Comparer<object?>.Create(TemplateValues.Compare)).ToList();
                    if (reverse) sorted.Reverse();
                    return sorted;
                }
            case "unique":
                {
                    bool caseSensitive = Truthy(Arg(a, k, 0, "case_sensitive", false));
                    var attribute = Arg(a, k, 1, "attribute");
                    var seen = new List<object?>();
                    var result = new List<object?>();
                    foreach (var item in Iterate(value))
                    {
                        var key = SortKey(attribute is null ? item : Attribute(item, attribute), caseSensitive);
                        if (seen.Any(s => TemplateValues.Equals(s, key))) continue;
                        seen.Add(key);
                        result.Add(item);
                    }
                    return result;
                }
            case "default" or "d":
                {
                    bool boolean = Truthy(Arg(a, k, 1, "boolean", false));
                    bool missing = value is Undefined || (boolean && !Truthy(value));
                    return missing ? Arg(a, k, 0, "default_value", TemplateText.Empty) : value;
                }
            case "int": return ToInt(value, Arg(a, k, 0, "default", 0L));
            case "float": return ToFloat(value, Arg(a, k, 0, "default", 0.0));
            case "abs":
                return value switch { long l => (object)Math.Abs(l), double d => Math.Abs(d), _ => throw new TemplateRuntimeException($"abs: {TypeName(value)} is not a number") };
            case "round":
                {
                    int precision = (int)(Arg(a, k, 0, "precision", 0L) as long? ?? 0);
                    var method = (Arg(a, k, 1, "method") as TemplateText)?.Text ?? "common";
                    double x = ToDouble(value), factor = Math.Pow(10, precision);
                    return method switch
                    {
                        "ceil" => Math.Ceiling(x * factor) / factor,
                        "floor" => Math.Floor(x * factor) / factor,
                        _ => Math.Round(x * factor, MidpointRounding.AwayFromZero) / factor,
                    };
                }
            case "sum":
                {
                    var attribute = Arg(a, k, 0, "attribute");
                    object? total = Arg(a, k, 1, "start", 0L);
                    foreach (var item in Iterate(value)) total = Binary("+", total, attribute is null ? item : Attribute(item, attribute));
                    return total;
                }
            case "min" or "max":
                {
                    var items = Iterate(value);
                    if (items.Count == 0) return new Undefined($"{name} of an empty sequence");
                    bool caseSensitive = Truthy(Arg(a, k, 0, "case_sensitive", false));
                    var attribute = Arg(a, k, 1, "attribute");
                    var ordered = items.OrderBy(i => SortKey(attribute is null ? i : Attribute(i, attribute), caseSensitive), Comparer<object?>.Create(TemplateValues.Compare)).ToList();
                    return name == "min" ? ordered[0] : ordered[^1];
                }
            case "indent": return Indent(ToText(value), Arg(a, k, 0, "width", 4L), Truthy(Arg(a, k, 1, "first", false)), Truthy(Arg(a, k, 2, "blank", false)));
            case "map":
                {
                    var items = Iterate(value);
                    if (k.TryGetValue("attribute", out var attribute))
                    {
                        var fallback = k.GetValueOrDefault("default");
                        return items.Select(i => Attribute(i, attribute) is Undefined && k.ContainsKey("default") ? fallback : Attribute(i, attribute)).ToList();
                    }
                    if (a.Count == 0 || a[0] is not TemplateText filter) throw new TemplateRuntimeException("map needs a filter name or attribute=");
                    return items.Select(i => Filter(filter.Text, i, [.. a.Skip(1)], k)).ToList();
                }
            case "select" or "reject":
                {
                    bool keep = name == "select";
                    return Iterate(value).Where(i => (a.Count == 0 ? Truthy(i) : ApplyTest(ToText(a[0]).Text, i, [.. a.Skip(1)])) == keep).ToList();
                }
            case "selectattr" or "rejectattr":
                {
                    bool keep = name == "selectattr";
                    if (a.Count == 0) throw new TemplateRuntimeException($"{name} needs an attribute name");
                    return Iterate(value).Where(i =>
                    {
                        var v = Attribute(i, a[0]);
                        return (a.Count == 1 ? Truthy(v) : ApplyTest(ToText(a[1]).Text, v, [.. a.Skip(2)])) == keep;
                    }).ToList();
                }
            case "batch":
                {
                    long size = Arg(a, k, 0, "linecount") is long count && count > 0 ? count : throw new TemplateRuntimeException("batch needs a positive size");
                    return Iterate(value).Chunk((int)size).Select(c => (object?)c.ToList()).ToList();
                }
            case "wordcount": return (long)TemplateStrings.Split(ToText(value), null, -1, false).Count;
            case "center":
                {
                    var t = ToText(value);
                    int width = (int)(Arg(a, k, 0, "width", 80L) as long? ?? 80);
                    int pad = Math.Max(0, width - t.CodePointCount), left = pad / 2 + (pad & width & 1);
                    return TemplateText.Concat(TemplateText.Concat(new TemplateText(new string(' ', left)), t), new TemplateText(new string(' ', pad - left)));
                }
            default:
                throw new TemplateRuntimeException($"no filter named '{name}'");
        }
    }

    /// <summary>A dotted attribute path (`map(attribute='function.name')`), or an integer index.</summary>
    static object? Attribute(object? item, object? attribute)
    {
        if (attribute is long index) return GetItem(item, index);
        foreach (var part in ToText(attribute).Text.Split('.'))
        {
            if (item is Undefined) return item;
            item = int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && item is List<object?> or object?[]
                ? GetItem(item, (long)i) : GetItem(item, new TemplateText(part));
        }
        return item;
    }

    static object? SortKey(object? v, bool caseSensitive) =>
        !caseSensitive && v is TemplateText t ? new TemplateText(t.Text.ToLowerInvariant()) : v;

    static TemplateText Escape(TemplateText t)
    {
        var b = new TemplateText.Builder();
        for (int i = 0; i < t.Length; i++)
        {
            string piece = t.Text[i] switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&#34;", '\'' => "&#39;", var c => c.ToString() };
            b.Append(piece, t.IsContent(i));
        }
        return b.Build();
    }

    static TemplateText ToJson(object? value, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        string? indent = Arg(a, k, 0, "indent") switch
        {
            null => null,
            long n => new string(' ', (int)Math.Max(0, n)),
            TemplateText s => s.Text,
            var other => throw new TemplateRuntimeException($"tojson: indent must be an integer or a string, not {TypeName(other)}"),
        };
        bool ascii = Truthy(Arg(a, k, 1, "ensure_ascii", false));
        string itemSep = indent is null ? ", " : ",", keySep = ": ";
        if (Arg(a, k, 2, "separators") is { } separators)
        {
            var pair = Iterate(separators);
            if (pair.Count != 2) throw new TemplateRuntimeException("tojson: separators must be a pair");
            itemSep = ToText(pair[0]).Text;
            keySep = ToText(pair[1]).Text;
        }
        return TemplateJson.Serialize(value, indent, ascii, itemSep, keySep, Truthy(Arg(a, k, 3, "sort_keys", false)));
    }

    static object? ToInt(object? value, object? fallback) => value switch
    {
        long l => l,
        bool b => b ? 1L : 0L,
        double d when double.IsFinite(d) => (long)Math.Truncate(d),
        TemplateText t when long.TryParse(t.Text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
        TemplateText t when double.TryParse(t.Text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => (long)Math.Truncate(d),
        _ => fallback,
    };

    static object? ToFloat(object? value, object? fallback) => value switch
    {
        long l => (double)l,
        double d => d,
        bool b => b ? 1.0 : 0.0,
        TemplateText t when double.TryParse(t.Text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => fallback,
    };

    /// <summary>jinja2's indent: every line but the first (and blank lines only with blank=true) gets the prefix.</summary>
    static TemplateText Indent(TemplateText text, object? width, bool first, bool blank)
    {
        var prefix = width switch { long n => new string(' ', (int)Math.Max(0, n)), TemplateText s => s.Text, _ => "    " };
        var lines = TemplateStrings.SplitLines(TemplateText.Concat(text, new TemplateText("\n")));
        var b = new TemplateText.Builder();
        for (int i = 0; i < lines.Count; i++)
        {
            if (i > 0) b.Append("\n");
            if (i == 0 ? first : blank || lines[i].Length > 0) b.Append(prefix);
            b.Append(lines[i]);
        }
        return b.Build();
    }
}
