using System.Globalization;
using System.Text;

namespace Service.Inference.Chat.Templates;

/// <summary>The functions every template sees: jinja2's `range`, `namespace`, `dict`, and transformers' `raise_exception`, `strftime_now`.</summary>
static class TemplateGlobals
{
    public static void AddTo(TemplateScope scope)
    {
        scope.Set("range", new TemplateFunction(Range));
        scope.Set("namespace", new TemplateFunction(NewNamespace));
        scope.Set("dict", new TemplateFunction((args, kwargs) =>
        {
            var dict = new TemplateDict();
            if (args.Count > 0 && args[0] is TemplateDict source)
                foreach (var (k, v) in source) dict[k] = v;
            foreach (var (k, v) in kwargs) dict[new TemplateText(k)] = v;
            return dict;
        }));
        scope.Set("raise_exception", new TemplateFunction((args, _) =>
            throw new TemplateRaisedException(args.Count > 0 ? TemplateValues.ToText(args[0]).Text : "the template raised an exception")));
        scope.Set("strftime_now", new TemplateFunction((args, _) =>
            new TemplateText(Strftime(DateTime.Now, args.Count > 0 ? TemplateValues.ToText(args[0]).Text : ""))));
    }

    static object? Range(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> _)
    {
        long Int(int i) => args[i] is long l ? l : throw new TemplateRuntimeException("range() takes integers");
        long start = 0, stop, step = 1;
        switch (args.Count)
        {
            case 1: stop = Int(0); break;
            case 2: start = Int(0); stop = Int(1); break;
            case 3: start = Int(0); stop = Int(1); step = Int(2); break;
            default: throw new TemplateRuntimeException("range() takes 1 to 3 arguments");
        }
        if (step == 0) throw new TemplateRuntimeException("range() step must not be zero");
        if (Math.Abs((stop - start) / step) > 100_000) throw new TemplateRuntimeException("range() is too long");
        var items = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) items.Add(i);
        return items;
    }

    static object? NewNamespace(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var ns = new Namespace();
        if (args.Count > 0 && args[0] is TemplateDict initial)
            foreach (var (k, v) in initial) ns.Attributes[TemplateValues.ToText(k).Text] = v;
        foreach (var (k, v) in kwargs) ns.Attributes[k] = v;
        return ns;
    }

    /// <summary>Python's strftime for the directives templates use (`%d %b %Y` and the like); `%-d` drops padding as glibc does.</summary>
    public static string Strftime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char c = format[++i];
            bool noPad = false;
            if (c == '-' && i + 1 < format.Length) { noPad = true; c = format[++i]; }
            string Num(int v, int width) => noPad ? v.ToString(culture) : v.ToString(new string('0', width), culture);
            sb.Append(c switch
            {
                'Y' => t.Year.ToString(culture),
                'y' => Num(t.Year % 100, 2),
                'm' => Num(t.Month, 2),
                'd' => Num(t.Day, 2),
                'e' => t.Day.ToString(culture).PadLeft(2),
                'H' => Num(t.Hour, 2),
                'I' => Num(t.Hour % 12 == 0 ? 12 : t.Hour % 12, 2),
                'M' => Num(t.Minute, 2),
                'S' => Num(t.Second, 2),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'b' or 'h' => t.ToString("MMM", culture),
                'B' => t.ToString("MMMM", culture),
                'a' => t.ToString("ddd", culture),
                'A' => t.ToString("dddd", culture),
                'j' => Num(t.DayOfYear, 3),
                'w' => ((int)t.DayOfWeek).ToString(culture),
                'Z' => "",
                'z' => "",
                '%' => "%",
                _ => "%" + (noPad ? "-" : "") + c,
            });
        }
        return sb.ToString();
    }
}
