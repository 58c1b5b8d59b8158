using System.Text;
using static Service.Inference.Chat.Templates.TemplateValues;

namespace Service.Inference.Chat.Templates;

/// <summary>
/// Python methods a template may call on values (`content.strip()`, `message.get('x')`). As in
/// transformers' immutable sandbox, methods that change a list or dict (append, update, pop) are refused.
/// </summary>
static class TemplateMethods
{
    static readonly HashSet<string> Mutating = ["append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem", "sort", "reverse"];

    public static TemplateFunction? Bind(object? target, string name) => target switch
    {
        TemplateText s => StringMethod(s, name),
        TemplateDict d => DictMethod(d, name),
        List<object?> or object?[] => ListMethod((IReadOnlyList<object?>)target, name),
        _ => null,
    };

    static T Arg<T>(IReadOnlyList<object?> args, int i, string method)
    {
        if (i < args.Count && args[i] is T value) return value;
        throw new TemplateRuntimeException($"{method}() needs a {typeof(T).Name switch { "TemplateText" => "string", "Int64" => "integer", var n => n }} as argument {i + 1}");
    }

    static string? OptionalChars(IReadOnlyList<object?> args, string method) =>
        args.Count == 0 || args[0] is null ? null : Arg<TemplateText>(args, 0, method).Text;

    static TemplateFunction? StringMethod(TemplateText s, string name) => name switch
    {
        "strip" => (a, _) => s.Strip(OptionalChars(a, name), true, true),
        "lstrip" => (a, _) => s.Strip(OptionalChars(a, name), true, false),
        "rstrip" => (a, _) => s.Strip(OptionalChars(a, name), false, true),
        "upper" => (_, _) => s.Map(t => t.ToUpperInvariant()),
        "lower" => (_, _) => s.Map(t => t.ToLowerInvariant()),
        "title" => (_, _) => TemplateStrings.Title(s),
        "capitalize" => (_, _) => TemplateStrings.Capitalize(s),
        "startswith" => (a, _) => Affix(s, a, name, (t, p) => t.StartsWith(p, StringComparison.Ordinal)),
        "endswith" => (a, _) => Affix(s, a, name, (t, p) => t.EndsWith(p, StringComparison.Ordinal)),
        "split" => (a, k) => TemplateStrings.Split(s, Separator(a, k), MaxSplit(a, k), fromRight: false),
        "rsplit" => (a, k) => TemplateStrings.Split(s, Separator(a, k), MaxSplit(a, k), fromRight: true),
        "splitlines" => (_, _) => TemplateStrings.SplitLines(s).Cast<object?>().ToList(),
        "replace" => (a, _) => TemplateStrings.Replace(s, Arg<TemplateText>(a, 0, name), Arg<TemplateText>(a, 1, name), a.Count > 2 ? Arg<long>(a, 2, name) : -1),
        "join" => (a, _) => TemplateStrings.Join(s, Iterate(a.Count > 0 ? a[0] : null).Select(ToText)),
        "format" => (a, k) => TemplateStrings.Format(s, a, k),
        "find" => (a, _) => Position(s, s.Text.IndexOf(Arg<TemplateText>(a, 0, name).Text, StringComparison.Ordinal)),
        "rfind" => (a, _) => Position(s, s.Text.LastIndexOf(Arg<TemplateText>(a, 0, name).Text, StringComparison.Ordinal)),
        "count" => (a, _) => (long)TemplateStrings.Count(s.Text, Arg<TemplateText>(a, 0, name).Text),
        "isdigit" => (_, _) => s.Length > 0 && s.Text.EnumerateRunes().All(Rune.IsDigit),
        "isalpha" => (_, _) => s.Length > 0 && s.Text.EnumerateRunes().All(Rune.IsLetter),
        "isalnum" => (_, _) => s.Length > 0 && s.Text.EnumerateRunes().All(r => Rune.IsLetter(r) || Rune.IsNumber(r)),
        "isspace" => (_, _) => s.Length > 0 && s.Text.EnumerateRunes().All(Rune.IsWhiteSpace),
        "islower" => (_, _) => s.Text.Any(char.IsLetter) && !s.Text.Any(char.IsUpper),
        "isupper" => (_, _) => s.Text.Any(char.IsLetter) && !s.Text.Any(char.IsLower),
        _ => null,
    };

    /// <summary>A find result as Python reports it: a code point index, or -1.</summary>
    static long Position(TemplateText s, int unitOffset) => unitOffset < 0 ? -1 : s.CodePointIndex(unitOffset);

    static object? Affix(TemplateText s, IReadOnlyList<object?> args, string method, Func<string, string, bool> test) =>
        args.Count > 0 && args[0] is object?[] options
            ? options.Any(o => o is TemplateText t && test(s.Text, t.Text))
            : test(s.Text, Arg<TemplateText>(args, 0, method).Text);

    static string? Separator(IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        var sep = a.Count > 0 ? a[0] : k.GetValueOrDefault("sep");
        if (sep is TemplateText { Length: 0 }) throw new TemplateRuntimeException("split(): empty separator");
        return sep is TemplateText t ? t.Text : null;
    }

    static long MaxSplit(IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k) =>
        (a.Count > 1 ? a[1] : k.GetValueOrDefault("maxsplit")) is long n ? n : -1;

    static TemplateFunction? DictMethod(TemplateDict d, string name) => name switch
    {
        "get" => (a, _) => a.Count > 0 && a[0] is { } key && d.TryGetValue(key, out var v) ? v : a.Count > 1 ? a[1] : null,
        "items" => (_, _) => d.Select(p => (object?)new object?[] { p.Key, p.Value }).ToList(),
        "keys" => (_, _) => d.Keys.Cast<object?>().ToList(),
        "values" => (_, _) => d.Values.ToList(),
        _ when Mutating.Contains(name) => Refused("dict", name),
        _ => null,
    };

    static TemplateFunction? ListMethod(IReadOnlyList<object?> list, string name) => name switch
    {
        "index" => (a, _) => list.Select((x, i) => (x, i)).FirstOrDefault(p => TemplateValues.Equals(p.x, a.Count > 0 ? a[0] : null), (null, -1)).Item2 is var i and >= 0
            ? (long)i : throw new TemplateRuntimeException("list.index(x): x not in list"),
        "count" => (a, _) => (long)list.Count(x => TemplateValues.Equals(x, a.Count > 0 ? a[0] : null)),
        _ when Mutating.Contains(name) => Refused("list", name),
        _ => null,
    };

    static TemplateFunction Refused(string type, string name) => (_, _) =>
        throw new TemplateRuntimeException($"access to attribute '{name}' of '{type}' object is unsafe (transformers renders templates in an immutable sandbox)");
}
