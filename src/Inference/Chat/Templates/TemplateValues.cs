using System.Globalization;
using System.Text.Json;

namespace Service.Inference.Chat.Templates;

/// <summary>
/// jinja2's default Undefined: prints as nothing, is false, iterates as empty, has length 0; any
/// other use (attribute, index, arithmetic, call) is an error that names the missing value.
/// </summary>
public sealed class Undefined(string name)
{
    public string Name { get; } = name;
    public TemplateRuntimeException Error() => new($"'{Name}' is undefined");
}

/// <summary>`namespace(...)`: the one object a template may change from inside a loop.</summary>
public sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = [];
}

/// <summary>A function a template can call: globals, macros, bound string and dict methods, `loop.cycle`.</summary>
public delegate object? TemplateFunction(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>
/// Python's view of template values, as jinja2 renders them: None, bool, int (long), float (double),
/// str (<see cref="TemplateText"/>), list (List), tuple (object?[]), dict (<see cref="TemplateDict"/>).
/// </summary>
public static class TemplateValues
{
    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        TemplateText t => t.Length > 0,
        TemplateDict d => d.Count > 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    public static bool IsString(object? v) => v is TemplateText;
    public static bool IsNumber(object? v) => v is long or double;
    public static bool IsSequence(object? v) => v is List<object?> or object?[] or TemplateText;

    /// <summary>Python's str(): what `{{ value }}` prints.</summary>
    public static TemplateText ToText(object? v) => v switch
    {
        TemplateText t => t,
        Undefined => TemplateText.Empty,
        _ => Repr(v, top: true),
    };

    /// <summary>Python's repr() (str() at the top level for strings), marks of content kept.</summary>
    public static TemplateText Repr(object? v, bool top = false)
    {
        var b = new TemplateText.Builder();
        WriteRepr(b, v, top);
        return b.Build();
    }

    static void WriteRepr(TemplateText.Builder b, object? v, bool top)
    {
        switch (v)
        {
            case null: b.Append("None"); break;
            case Undefined: break;
            case bool x: b.Append(x ? "True" : "False"); break;
            case long l: b.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: b.Append(FloatText(d)); break;
            case TemplateText t when top: b.Append(t); break;
            case TemplateText t: WriteStringRepr(b, t); break;
            case List<object?> list: WriteItems(b, "[", list, "]"); break;
            case object?[] tuple: WriteItems(b, "(", tuple, tuple.Length == 1 ? ",)" : ")"); break;
            case TemplateDict dict:
                b.Append("{");
                bool first = true;
                foreach (var (key, value) in dict)
                {
                    if (!first) b.Append(", ");
                    first = false;
                    WriteRepr(b, key, false);
                    b.Append(": ");
                    WriteRepr(b, value, false);
                }
                b.Append("}");
                break;
            case Namespace: b.Append("<Namespace>"); break;
            default: b.Append(v.ToString() ?? ""); break;
        }
    }

    static void WriteItems(TemplateText.Builder b, string open, IEnumerable<object?> items, string close)
    {
        b.Append(open);
        bool first = true;
        foreach (var item in items)
        {
            if (!first) b.Append(", ");
            first = false;
            WriteRepr(b, item, false);
        }
        b.Append(close);
    }

    /// <summary>Python's repr of a str: single quotes unless the text has one and no double quote.</summary>
    static void WriteStringRepr(TemplateText.Builder b, TemplateText t)
    {
        char quote = t.Text.Contains('\'') && !t.Text.Contains('"') ? '"' : '\'';
        b.Append(quote.ToString());
        for (int i = 0; i < t.Length; i++)
        {
            char c = t.Text[i];
            string piece = c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when c == quote => "\\" + c,
                _ when c < 0x20 || c == 0x7f => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            };
            b.Append(piece, t.IsContent(i));
        }
        b.Append(quote.ToString());
    }

    /// <summary>Python's repr of a float: shortest round-trip digits, `.0` on whole numbers, exponent from 1e16 and below 1e-4.</summary>
    public static string FloatText(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        double abs = Math.Abs(d);
        int e = text.IndexOf('E');
        if (abs != 0 && (abs >= 1e16 || abs < 1e-4))
        {
            if (e < 0) return text;
            int exp = int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture);
            return text[..e] + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        if (e >= 0) text = ((decimal)d).ToString(CultureInfo.InvariantCulture);
        return text.Contains('.') ? text : text + ".0";
    }

    /// <summary>Python's ==: numbers by value, strings by text, lists and dicts item by item.</summary>
    public static new bool Equals(object? a, object? b)
    {
        switch (a, b)
        {
            case (null, null): return true;
            case (Undefined, Undefined): return true;
            case (Undefined, _) or (_, Undefined): return false;
            case (bool x, bool y): return x == y;
            case (TemplateText x, TemplateText y): return x.Text == y.Text;
            case (long or double or bool, long or double or bool): return ToDouble(a) == ToDouble(b);
            case (List<object?> x, List<object?> y): return x.Count == y.Count && x.Zip(y).All(p => Equals(p.First, p.Second));
            case (object?[] x, object?[] y): return x.Length == y.Length && x.Zip(y).All(p => Equals(p.First, p.Second));
            case (TemplateDict x, TemplateDict y):
                return x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var other) && Equals(p.Value, other));
            default: return ReferenceEquals(a, b);
        }
    }

    public static int Compare(object? a, object? b) => (a, b) switch
    {
        (TemplateText x, TemplateText y) => TemplateText.CompareCodePoints(x.Text, y.Text),
        (long or double or bool, long or double or bool) => ToDouble(a).CompareTo(ToDouble(b)),
        (List<object?> x, List<object?> y) => CompareSequences(x, y),
        (object?[] x, object?[] y) => CompareSequences(x, y),
        _ => throw new TemplateRuntimeException($"'<' is not supported between {TypeName(a)} and {TypeName(b)}"),
    };

    static int CompareSequences(IReadOnlyList<object?> x, IReadOnlyList<object?> y)
    {
        for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
        {
            if (Equals(x[i], y[i])) continue;
            return Compare(x[i], y[i]);
        }
        return x.Count.CompareTo(y.Count);
    }

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new TemplateRuntimeException($"{TypeName(v)} is not a number"),
    };

    public static string TypeName(object? v) => v switch
    {
        null => "None",
        Undefined u => $"undefined value '{u.Name}'",
        bool => "bool",
        long => "int",
        double => "float",
        TemplateText => "str",
        List<object?> => "list",
        object?[] => "tuple",
        TemplateDict => "dict",
        Namespace => "namespace",
        TemplateFunction => "function",
        _ => v.GetType().Name,
    };

    /// <summary>The items a for loop or a filter walks: list and tuple items, dict keys, string characters.</summary>
    public static IReadOnlyList<object?> Iterate(object? v) => v switch
    {
        List<object?> list => list,
        object?[] tuple => tuple,
        TemplateDict dict => [.. dict.Keys],
        TemplateText t => [.. t.CodePoints()],
        Undefined => [],
        null => throw new TemplateRuntimeException("'NoneType' object is not iterable"),
        _ => throw new TemplateRuntimeException($"'{TypeName(v)}' object is not iterable"),
    };

    /// <summary>A JSON value (tokenizer_config.json, request data) as a template value; strings are template text.</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => new TemplateText(e.GetString()!),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => new TemplateDict(e.EnumerateObject().Select(p => new KeyValuePair<object, object?>(new TemplateText(p.Name), FromJson(p.Value)))),
        _ => null,
    };
}

/// <summary>A Python dict: insertion order kept, keys compared by value.</summary>
public sealed class TemplateDict : OrderedDictionary<object, object?>
{
    public TemplateDict() { }
    public TemplateDict(IEnumerable<KeyValuePair<object, object?>> items) : base(items) { }

    public object? Get(string key) => TryGetValue(new TemplateText(key), out var v) ? v : null;
}
